"""Wire models of the raw-data archive, shared by the server and the client so they cannot drift."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

CHECKSUM_HEADER = "X-Checksum-SHA256"
"""Response and upload header carrying the hex SHA-256 of the body."""

HeaderValue = bool | int | float | str | None
"""A FITS card value as JSON carries it; an undefined value is null."""

Header = dict[str, HeaderValue]
"""Flattened header: `HIERARCH ESO DET WIN1 BINX` becomes `DET.WIN1.BINX`, plain keys stay as they are."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ExtensionInfo(_Frozen):
    """One extension HDU of a multi-extension file."""

    index: int = Field(description="HDU index; the primary HDU is 0", examples=[1])
    extname: str | None = Field(None, description="EXTNAME", examples=["REDL"])
    xtension: str | None = Field(None, description="XTENSION", examples=["IMAGE"])
    shape: list[int] = Field(default_factory=list, description="NAXISn, fastest axis first", examples=[[2048, 4096]])
    chip_name: str | None = Field(
        None, description="detector chip of this extension (DET.CHIP.NAME, DET.CHIP1.NAME or CHIPNAME)",
        examples=["MIT"],
    )
    header: Header = Field(default_factory=dict, description="flattened extension header")


class RawFileInfo(_Frozen):
    """One raw frame of a night, with what a classifier needs to know about it."""

    arcfile: str = Field(description="archive file name (ESO ARCFILE), with `.fits`",
                         examples=["UVES.2024-03-01T23:12:34.567.fits"])
    instrument: str = Field(description="instrument folder the file lives in", examples=["UVES"])
    night: date = Field(description="observing night (folder name)", examples=["2024-03-01"])
    size_bytes: int = Field(ge=0, description="file size", examples=[5760])
    md5: str = Field(description="hex MD5 of the file", examples=["9e107d9d372bb6826bd81d3542a419d6"])
    sha256: str = Field(description="hex SHA-256 of the file",
                        examples=["d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"])
    header: Header = Field(default_factory=dict, description="flattened primary header",
                           examples=[{"DPR.CATG": "CALIB", "DET.WIN1.BINX": 1, "MJD-OBS": 60370.96}])
    extensions: list[ExtensionInfo] = Field(default_factory=list, description="extension HDUs, if any")
    error: str | None = Field(None, description="why the file could not be read as FITS; null when it could",
                              examples=["truncated: 11020 bytes, headers announce 11520"])


CalibStatus = Literal["current", "retired"]


class CalibInfo(_Frozen):
    """A certified master calibration in the calibration store."""

    name: str = Field(description="calibration name (file name without `.fits`)",
                      examples=["UVES_MASTER_BIAS_BLUE_2024-03-01_1x1"])
    filename: str = Field(description="file name in the store", examples=["UVES_MASTER_BIAS_BLUE_2024-03-01_1x1.fits"])
    instrument: str = Field(examples=["UVES"])
    pro_catg: str = Field(description="PRO.CATG of the master", examples=["MASTER_BIAS_BLUE"])
    mjd_obs: float | None = Field(None, description="MJD-OBS of the master", examples=[60370.62])
    night: date | None = Field(None, description="night of MJD-OBS (noon-to-noon, see settings)",
                               examples=["2024-03-01"])
    setting: Header = Field(default_factory=dict, description="instrument setting keywords present in the header",
                            examples=[{"DET.WIN1.BINX": 1, "DET.WIN1.BINY": 1, "DET.READ.SPEED": "50kHz/2pts/high"}])
    size_bytes: int = Field(ge=0, examples=[5760])
    md5: str = Field(description="hex MD5", examples=["9e107d9d372bb6826bd81d3542a419d6"])
    sha256: str = Field(description="hex SHA-256",
                        examples=["d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"])
    status: CalibStatus = Field(description="current, or retired (kept on disk, superseded)", examples=["current"])
    registered_at: datetime = Field(description="when the store registered it (UTC)")
    replaces: str | None = Field(None, description="name of the calibration this one retired when registered")
    replaced_by: str | None = Field(None, description="name of the calibration that retired this one")
    retired_at: datetime | None = Field(None, description="when it was retired (UTC)")


class ApiError(_Frozen):
    """Body of every error answer."""

    detail: str = Field(examples=["no raw file UVES.2024-03-01T23:12:34.567.fits"])
