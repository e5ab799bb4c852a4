"""What the archive reads from a FITS file: flattened headers, extension info, checksums."""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shared.rawarchive.models import ExtensionInfo, Header, HeaderValue

if TYPE_CHECKING:
    from astropy.io import fits

# astropy (~0.4 s to import) is imported where a header is read, so that a command that only
# lists an archive's index (`phoenix abs`) never loads it.

_CHUNK_BYTES = 1024 * 1024
_SKIPPED_KEYWORDS = frozenset({"", "COMMENT", "HISTORY"})
_CHIP_NAME_KEYS = ("DET.CHIP.NAME", "DET.CHIP1.NAME", "CHIPNAME")


@dataclass(frozen=True)
class Checksums:
    size_bytes: int
    md5: str
    sha256: str


@dataclass(frozen=True)
class FitsMetadata:
    header: Header = field(default_factory=dict)
    extensions: list[ExtensionInfo] = field(default_factory=list)
    error: str | None = None


def dotted_keyword(keyword: str) -> str:
    """`ESO DET WIN1 BINX` (astropy's name for a HIERARCH card) → `DET.WIN1.BINX`, as OCA rules write it."""
    words = keyword.split()
    if len(words) > 1 and words[0] == "ESO":
        words = words[1:]
    return ".".join(words)


def json_value(value: object) -> HeaderValue:
    if isinstance(value, (bool, int, float, str)):
        return value
    from astropy.io import fits

    if isinstance(value, fits.card.Undefined):
        return None
    return str(value)


def flatten_header(header: fits.Header) -> Header:
    """Every valued card, ESO hierarchical keys dotted; the first of repeated keywords wins."""
    flat: Header = {}
    for card in header.cards:
        if card.keyword in _SKIPPED_KEYWORDS:
            continue
        flat.setdefault(dotted_keyword(card.keyword), json_value(card.value))
    return flat


def compute_checksums(path: Path) -> Checksums:
    md5, sha256, size = hashlib.md5(), hashlib.sha256(), 0
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK_BYTES):
            md5.update(chunk)
            sha256.update(chunk)
            size += len(chunk)
    return Checksums(size_bytes=size, md5=md5.hexdigest(), sha256=sha256.hexdigest())


def read_fits_metadata(path: Path) -> FitsMetadata:
    """Headers of every HDU without reading data; a file that is not whole FITS gets an `error`."""
    size = path.stat().st_size
    if size == 0:
        return FitsMetadata(error="empty file (0 bytes)")
    from astropy.io import fits

    try:
        # Truncation is checked below against the HDU layout; astropy's own warnings would only repeat it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(path, memmap=False, lazy_load_hdus=True) as hdus:
                return _describe_hdus(hdus, size)
    except Exception as error:  # astropy raises OSError, ValueError, KeyError... for broken files
        return FitsMetadata(error=f"not readable as FITS: {type(error).__name__}: {error}")


def _describe_hdus(hdus: fits.HDUList, file_size: int) -> FitsMetadata:
    from astropy.io import fits

    all_hdus = list(hdus)  # forces every header to be read
    if not all_hdus or not isinstance(all_hdus[0], fits.PrimaryHDU):
        return FitsMetadata(error="no primary header")
    header = flatten_header(all_hdus[0].header)
    extensions = [_extension_info(index, hdu) for index, hdu in enumerate(all_hdus) if index > 0]
    return FitsMetadata(header=header, extensions=extensions, error=_size_mismatch(file_size, _expected_file_size(hdus)))


def _size_mismatch(file_size: int, expected: int) -> str | None:
    if file_size < expected:
        return f"truncated: {file_size} bytes, headers announce {expected}"
    if file_size > expected:
        # astropy silently stops at a partial extension header, leaving these bytes unexplained
        return f"{file_size - expected} unreadable bytes after the last complete HDU (truncated extension?)"
    return None


def _expected_file_size(hdus: fits.HDUList) -> int:
    last = hdus.fileinfo(len(hdus) - 1)
    return int(last["datLoc"]) + int(last["datSpan"])


def _extension_info(index: int, hdu: fits.hdu.base.ExtensionHDU) -> ExtensionInfo:
    header = flatten_header(hdu.header)
    naxis = int(header.get("NAXIS") or 0)
    chip = next((header[key] for key in _CHIP_NAME_KEYS if header.get(key) is not None), None)
    return ExtensionInfo(
        index=index,
        extname=_optional_str(header.get("EXTNAME")),
        xtension=_optional_str(header.get("XTENSION")),
        shape=[int(header.get(f"NAXIS{axis}") or 0) for axis in range(1, naxis + 1)],
        chip_name=_optional_str(chip),
        header=header,
    )


def _optional_str(value: HeaderValue) -> str | None:
    return None if value is None else str(value)
