"""primary_cards reads selected cards as astropy would, without parsing the others."""

from __future__ import annotations

from pathlib import Path

import pytest
from astropy.io import fits

from shared.fitsheader import primary_cards


def test_selected_cards_have_astropy_values_and_types(tmp_path: Path) -> None:
    header = fits.Header()
    header["EXPTIME"] = 300.0
    header["HIERARCH ESO QC OUT1 RON MASTER"] = (3.9, "[ADU] read-out noise")
    header["HIERARCH ESO QC NLINSOL"] = 467
    header["HIERARCH ESO QC FLAG"] = False
    header["HIERARCH ESO QC TINY"] = 1.5e-12
    header["HIERARCH ESO QC DID"] = "UVES-" + "it's long " * 12
    header["HIERARCH ESO PRO CATG"] = "MASTER_BIAS_BLUE"
    header["HIERARCH ESO DET WIN1 BINX"] = 2
    for n in range(60):  # more than one 2880-byte block
        header[f"HIERARCH ESO PRO REC1 PARAM{n} VALUE"] = f"value {n}"
    path = tmp_path / "product.fits"
    fits.PrimaryHDU(header=header).writeto(path)

    wanted = ("ESO QC ", "ESO PRO CATG", "EXPTIME")
    expected = {k: v for k, v in fits.getheader(path).items() if k.startswith(wanted)}
    found = primary_cards(path, wanted)
    assert found == expected
    assert [type(v) for v in found.values()] == [type(v) for v in expected.values()]


def test_a_file_that_is_not_fits_is_an_os_error(tmp_path: Path) -> None:
    path = tmp_path / "x.fits"
    path.write_bytes(b"not a fits file" * 300)
    with pytest.raises(OSError, match="not a FITS file"):
        primary_cards(path, ("ESO QC ",))
