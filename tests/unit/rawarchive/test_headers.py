from __future__ import annotations

import hashlib
from pathlib import Path

from astropy.io import fits

from shared.rawarchive.fitsmeta import compute_checksums, dotted_keyword, flatten_header, read_fits_metadata
from tests.unit.rawarchive.synthetic import FITS_BLOCK, uves_cards, write_fits


def test_hierarch_eso_keywords_are_dotted_as_oca_rules_write_them() -> None:
    assert dotted_keyword("ESO DET WIN1 BINX") == "DET.WIN1.BINX"
    assert dotted_keyword("ESO DPR CATG") == "DPR.CATG"
    assert dotted_keyword("MJD-OBS") == "MJD-OBS"
    assert dotted_keyword("FOO BAR") == "FOO.BAR"


def test_flatten_keeps_every_valued_card_and_drops_commentary() -> None:
    header = fits.Header()
    header["HIERARCH ESO DPR CATG"] = "CALIB"
    header["HIERARCH ESO DET WIN1 BINX"] = 2
    header["MJD-OBS"] = 60370.5
    header["EXTEND"] = True
    header["EMPTY"] = fits.card.UNDEFINED
    header["COMMENT"] = "not a keyword"
    header["HISTORY"] = "neither"

    flat = flatten_header(header)

    assert flat == {"DPR.CATG": "CALIB", "DET.WIN1.BINX": 2, "MJD-OBS": 60370.5, "EXTEND": True, "EMPTY": None}
    assert isinstance(flat["DET.WIN1.BINX"], int) and isinstance(flat["EXTEND"], bool)


def test_first_of_repeated_keywords_wins() -> None:
    header = fits.Header([("OBJECT", "first"), ("OBJECT", "second")])
    assert flatten_header(header)["OBJECT"] == "first"


def test_single_hdu_raw_frame(tmp_path: Path) -> None:
    path = write_fits(tmp_path / "a.fits", uves_cards("a.fits"))

    metadata = read_fits_metadata(path)

    assert metadata.error is None
    assert metadata.header["DPR.TYPE"] == "BIAS"
    assert metadata.header["DET.READ.SPEED"] == "50kHz/2pts/high"
    assert metadata.header["NAXIS1"] == 16
    assert metadata.extensions == []


def test_multi_extension_frame_reports_chip_names(tmp_path: Path) -> None:
    path = write_fits(tmp_path / "red.fits", uves_cards("red.fits", **{"INS.PATH": "RED"}), chips=("EEV", "MIT"))

    metadata = read_fits_metadata(path)

    assert metadata.error is None
    assert [(e.index, e.extname, e.chip_name, e.shape) for e in metadata.extensions] == [
        (1, "CHIP1", "EEV", [16, 16]),
        (2, "CHIP2", "MIT", [16, 16]),
    ]
    assert metadata.extensions[0].header["DET.CHIP.NAME"] == "EEV"


def test_zero_length_file_is_named_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.fits"
    path.touch()
    assert read_fits_metadata(path).error == "empty file (0 bytes)"


def test_truncated_data_is_reported_with_sizes(tmp_path: Path) -> None:
    path = write_fits(tmp_path / "cut.fits", uves_cards("cut.fits"), pixels=64)
    whole = path.read_bytes()
    path.write_bytes(whole[:-1000])

    metadata = read_fits_metadata(path)

    assert metadata.error == f"truncated: {len(whole) - 1000} bytes, headers announce {len(whole)}"
    assert metadata.header["DPR.CATG"] == "CALIB"  # what could be read is still there


def test_extension_cut_inside_its_header_is_reported(tmp_path: Path) -> None:
    path = write_fits(tmp_path / "cut.fits", uves_cards("cut.fits"), chips=("EEV", "MIT"))
    whole = path.read_bytes()
    second_extension_start = len(whole) - 2 * FITS_BLOCK
    path.write_bytes(whole[: second_extension_start + 100])

    assert read_fits_metadata(path).error == "100 unreadable bytes after the last complete HDU (truncated extension?)"


def test_bytes_without_a_primary_header_are_not_fits(tmp_path: Path) -> None:
    path = tmp_path / "junk.fits"
    path.write_bytes(b"this is not FITS at all" * 200)

    error = read_fits_metadata(path).error

    assert error is not None and error.startswith("not readable as FITS")


def test_checksums_match_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    content = bytes(range(256)) * 5000
    path.write_bytes(content)

    checksums = compute_checksums(path)

    assert checksums.size_bytes == len(content)
    assert checksums.md5 == hashlib.md5(content).hexdigest()
    assert checksums.sha256 == hashlib.sha256(content).hexdigest()
