"""Decompression of archive downloads: ESO's real `.fits.Z`, gzip, plain, broken streams."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from astropy.io import fits

from shared.errors import DataError
from shared.rawarchive.compression import compress_unix, compression_of, unpack
from shared.rawarchive.fitsmeta import read_fits_metadata

REAL_Z = Path(__file__).resolve().parents[2] / "data" / "eso" / "testfile.fits.Z"


def test_the_real_eso_compressed_file_unpacks_to_fits(tmp_path: Path) -> None:
    assert compression_of(REAL_Z) == "compress"
    plain = unpack(REAL_Z, tmp_path / "testfile.fits")
    assert compression_of(plain) is None
    with fits.open(plain) as hdus:
        assert hdus[0].header["SIMPLE"] is True
    assert read_fits_metadata(plain).error is None


def test_our_compress_round_trips_and_gzip_and_plain_files_unpack(tmp_path: Path) -> None:
    original = unpack(REAL_Z, tmp_path / "original.fits").read_bytes()
    (tmp_path / "a.fits.Z").write_bytes(compress_unix(original))
    (tmp_path / "b.fits.gz").write_bytes(gzip.compress(original))
    (tmp_path / "c.fits").write_bytes(original)
    for name in ("a.fits.Z", "b.fits.gz", "c.fits"):
        assert unpack(tmp_path / name, tmp_path / f"{name}.out").read_bytes() == original


def test_a_truncated_compressed_download_is_caught_as_truncated_fits(tmp_path: Path) -> None:
    packed = REAL_Z.read_bytes()
    (tmp_path / "cut.fits.Z").write_bytes(packed[: len(packed) // 2])
    plain = unpack(tmp_path / "cut.fits.Z", tmp_path / "cut.fits")  # LZW has no end marker to miss
    assert "truncated" in (read_fits_metadata(plain).error or "") or read_fits_metadata(plain).error


def test_a_broken_gzip_stream_is_a_named_data_error(tmp_path: Path) -> None:
    (tmp_path / "bad.fits.gz").write_bytes(gzip.compress(b"x" * 10000)[:30])
    with pytest.raises(DataError, match="bad.fits.gz: cannot decompress"):
        unpack(tmp_path / "bad.fits.gz", tmp_path / "bad.fits")
    assert not (tmp_path / "bad.fits").exists()
