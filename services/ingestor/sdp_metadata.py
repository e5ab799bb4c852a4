"""What the catalogue keeps of an SDP spectrum, read from its primary header (after Phase 3 passed)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from astropy.io import fits

_PROV = re.compile(r"PROV(\d+)")
_ASSON = re.compile(r"ASSON(\d+)")


@dataclass(frozen=True)
class Associated:
    name: str
    category: str
    """ASSOCi, e.g. ANCILLARY.PREVIEW."""

    @property
    def kind(self) -> str:
        """The product_files kind: the category's last part (ANCILLARY.PREVIEW → PREVIEW)."""
        return self.category.rsplit(".", 1)[-1] or "ANCILLARY"


@dataclass(frozen=True)
class SdpMetadata:
    instrument: str
    prodcatg: str
    target_name: str
    ra: float
    dec: float
    t_min: float
    t_max: float
    exposure_seconds: float
    wavelength_min_nm: float
    wavelength_max_nm: float
    resolving_power: float
    snr: float
    calib_level: int
    procsoft: str
    raw_files: tuple[str, ...]
    associated: tuple[Associated, ...]


def read_metadata(path: Path) -> SdpMetadata:
    return metadata_of(fits.getheader(path, 0))


def metadata_of(header: fits.Header) -> SdpMetadata:
    return SdpMetadata(
        instrument=header["INSTRUME"],
        prodcatg=header["PRODCATG"],
        target_name=header["OBJECT"],
        ra=float(header["RA"]),
        dec=float(header["DEC"]),
        t_min=float(header["MJD-OBS"]),
        t_max=float(header["MJD-END"]),
        exposure_seconds=float(header["EXPTIME"]),
        wavelength_min_nm=float(header["WAVELMIN"]),
        wavelength_max_nm=float(header["WAVELMAX"]),
        resolving_power=float(header["SPEC_RES"]),
        snr=float(header["SNR"]),
        calib_level=int(header.get("PRODLVL", 2)),
        procsoft=header["PROCSOFT"],
        raw_files=tuple(value for _, value in _indexed(header, _PROV)),
        associated=tuple(
            Associated(name, str(header.get(f"ASSOC{index}", ""))) for index, name in _indexed(header, _ASSON)
        ),
    )


def _indexed(header: fits.Header, pattern: re.Pattern[str]) -> list[tuple[int, str]]:
    found = ((pattern.fullmatch(key), key) for key in header)
    return sorted((int(match.group(1)), str(header[key])) for match, key in found if match)
