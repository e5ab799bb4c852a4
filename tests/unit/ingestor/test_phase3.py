"""Phase 3 validation of SDP 1D spectra: a valid file passes, each kind of broken one is named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from services.ingestor.phase3 import validate_file
from tests.unit.ingestor.sdp_files import PREVIEW, RAW_FILES, spectrum_table, write_sdp

PRODUCTS = (PREVIEW,)


def problems_of(path: Path, raw_files=RAW_FILES, products=PRODUCTS) -> list[str]:
    return validate_file(path, raw_files, products)


def test_a_valid_sdp_spectrum_passes(tmp_path: Path) -> None:
    assert problems_of(write_sdp(tmp_path / "good.fits")) == []


@pytest.mark.parametrize("keyword", ["PRODCATG", "SNR", "MJD-END", "PROCSOFT", "CONTNORM", "REFERENC"])
def test_a_removed_mandatory_keyword_is_named(tmp_path: Path, keyword: str) -> None:
    def remove(hdul: fits.HDUList) -> None:
        del hdul[0].header[keyword]

    assert f"mandatory keyword {keyword} missing from the primary header" in problems_of(
        write_sdp(tmp_path / "spoilt.fits", spoil=remove)
    )


@pytest.mark.parametrize(
    ("keyword", "value", "expected"),
    [
        ("SNR", "46.1", "SNR must be a float, not str '46.1'"),
        ("RA", True, "RA must be a float, not bool True"),
        ("TOT_FLUX", 0, "TOT_FLUX must be a boolean, not int 0"),
        ("OBJECT", 42, "OBJECT must be a string, not int 42"),
        ("NCOMBINE", 1.5, "NCOMBINE must be a integer, not float 1.5"),
    ],
)
def test_a_keyword_of_the_wrong_type_is_named(tmp_path: Path, keyword: str, value: object, expected: str) -> None:
    def retype(hdul: fits.HDUList) -> None:
        hdul[0].header[keyword] = value

    problems = problems_of(write_sdp(tmp_path / "spoilt.fits", spoil=retype))
    assert any(problem.startswith(expected) for problem in problems), problems


def test_an_integer_is_a_valid_float(tmp_path: Path) -> None:
    def integral(hdul: fits.HDUList) -> None:
        hdul[0].header["EXPTIME"] = 1200

    assert problems_of(write_sdp(tmp_path / "int.fits", spoil=integral)) == []


def test_a_wrong_product_category_is_named(tmp_path: Path) -> None:
    def recategorise(hdul: fits.HDUList) -> None:
        hdul[0].header["PRODCATG"] = "SCIENCE.IMAGE"

    assert problems_of(write_sdp(tmp_path / "spoilt.fits", spoil=recategorise)) == [
        "PRODCATG is 'SCIENCE.IMAGE', must be 'SCIENCE.SPECTRUM'"
    ]


def test_two_rows_are_refused(tmp_path: Path) -> None:
    def second_row(hdul: fits.HDUList) -> None:
        one = hdul[1]
        two = fits.BinTableHDU.from_columns(one.columns, nrows=2, header=one.header)
        hdul[1] = two

    assert problems_of(write_sdp(tmp_path / "spoilt.fits", spoil=second_row)) == [
        "the SPECTRUM table must have exactly one row, has 2"
    ]


def test_arrays_of_unequal_length_are_refused(tmp_path: Path) -> None:
    def shorter_flux(hdul: fits.HDUList) -> None:
        good = hdul[1]
        columns = [
            fits.Column(name=c.name, format="499E", unit=c.unit, array=np.asarray(good.data[c.name])[:, :499])
            if c.name == "FLUX" else c
            for c in good.columns
        ]
        hdul[1] = fits.BinTableHDU.from_columns(columns, header=good.header)

    assert problems_of(write_sdp(tmp_path / "spoilt.fits", spoil=shorter_flux)) == [
        "column FLUX has 499 elements, NELEM is 500"
    ]


def test_nan_in_wave_is_refused(tmp_path: Path) -> None:
    def nan(hdul: fits.HDUList) -> None:
        hdul[1].data["WAVE"][0, 10] = np.nan

    assert problems_of(write_sdp(tmp_path / "spoilt.fits", spoil=nan)) == ["WAVE has 1 NaN value(s)"]


def test_a_decreasing_wave_is_refused(tmp_path: Path) -> None:
    def reverse(hdul: fits.HDUList) -> None:
        hdul[1].data["WAVE"][0] = hdul[1].data["WAVE"][0][::-1]

    assert problems_of(write_sdp(tmp_path / "spoilt.fits", spoil=reverse)) == [
        "WAVE is not strictly increasing (first at element 1)"
    ]


def test_a_bad_checksum_is_refused(tmp_path: Path) -> None:
    path = write_sdp(tmp_path / "spoilt.fits")
    path.write_bytes(path.read_bytes().replace(b"HD 1234", b"HD 1235", 1))
    assert problems_of(path) == ["CHECKSUM of the primary HDU does not match its content"]


def test_a_changed_data_byte_breaks_the_datasum(tmp_path: Path) -> None:
    path = write_sdp(tmp_path / "spoilt.fits")
    content = bytearray(path.read_bytes())
    content[-2880 - 100] ^= 0x01  # inside the table data, well before the padding
    path.write_bytes(bytes(content))
    problems = problems_of(path)
    assert "DATASUM of the extension 1 HDU does not match its data" in problems


def test_missing_checksums_are_refused(tmp_path: Path) -> None:
    problems = problems_of(write_sdp(tmp_path / "spoilt.fits", checksum=False))
    assert "mandatory keyword CHECKSUM missing from the primary header" in problems
    assert "mandatory keyword DATASUM missing from the extension header" in problems


def test_an_unknown_prov_is_named(tmp_path: Path) -> None:
    path = write_sdp(tmp_path / "spoilt.fits", raw_files=[RAW_FILES[0], "UVES.x.fits"])
    assert problems_of(path) == ["PROV2 'UVES.x.fits' is not a raw file of the AB"]


def test_no_prov_at_all_is_refused(tmp_path: Path) -> None:
    assert problems_of(write_sdp(tmp_path / "spoilt.fits", raw_files=[])) == [
        "no PROV1: the raw files the spectrum comes from are not named"
    ]


def test_an_asson_not_among_the_products_is_named(tmp_path: Path) -> None:
    assert problems_of(write_sdp(tmp_path / "good.fits"), products=()) == [
        f"ASSON1 '{PREVIEW}' is not among the AB's products"
    ]


@pytest.mark.parametrize(("hdu", "keyword", "value"), [(0, "BUNIT", "adu"), (0, "CD1_1", 0.1), (1, "BUNIT", "adu")])
def test_bunit_and_cd_matrix_are_not_allowed(tmp_path: Path, hdu: int, keyword: str, value: object) -> None:
    def forbidden(hdul: fits.HDUList) -> None:
        hdul[hdu].header[keyword] = value

    where = "primary" if hdu == 0 else "extension"
    assert problems_of(write_sdp(tmp_path / "spoilt.fits", spoil=forbidden)) == [
        f"{keyword} is not allowed in an SDP spectrum ({where} header)"
    ]


def test_column_ucd_utype_and_unit_are_checked(tmp_path: Path) -> None:
    def mislabel(hdul: fits.HDUList) -> None:
        hdul[1].header["TUCD2"] = "phot.count"
        hdul[1].header["TUTYP4"] = "spec:Data.FluxAxis.Quality"
        hdul[1].columns["WAVE"].unit = "Angstrom"

    assert problems_of(write_sdp(tmp_path / "spoilt.fits", spoil=mislabel)) == [
        "column WAVE: TUNIT1 is 'Angstrom', must be 'nm'",
        "column FLUX: TUCD2 is 'phot.count', must be 'phot.flux.density;em.wl;meta.main'",
        "column QUAL: TUTYP4 is 'spec:Data.FluxAxis.Quality', must be 'spec:Data.FluxAxis.Accuracy.QualityStatus'",
    ]


def test_vacuum_wavelengths_are_accepted(tmp_path: Path) -> None:
    def vacuum(hdul: fits.HDUList) -> None:
        hdul[1].header["TUCD1"] = "em.wl"

    assert problems_of(write_sdp(tmp_path / "vacuum.fits", spoil=vacuum)) == []


def test_a_second_extension_is_refused(tmp_path: Path) -> None:
    def extra(hdul: fits.HDUList) -> None:
        hdul.append(spectrum_table())

    assert problems_of(write_sdp(tmp_path / "spoilt.fits", spoil=extra)) == [
        "exactly one BINTABLE extension expected, found 2 extension(s): BinTableHDU, BinTableHDU"
    ]


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    def no_qual(hdul: fits.HDUList) -> None:
        good = hdul[1]
        hdul[1] = fits.BinTableHDU.from_columns([c for c in good.columns if c.name != "QUAL"], header=good.header)

    assert problems_of(write_sdp(tmp_path / "spoilt.fits", spoil=no_qual)) == [
        "column(s) QUAL missing from the table (has WAVE, FLUX, ERR)"
    ]


def test_a_file_that_is_not_fits_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.fits"
    path.write_bytes(b"not a FITS file at all")
    [problem] = problems_of(path)
    assert problem.startswith("not a readable FITS file")
