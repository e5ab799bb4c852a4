"""Settings of the local archive server (env prefix `PHOENIX_ARCHIVE_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Keywords that make two masters of the same PRO.CATG interchangeable (taken from the match
# keys of the UVES and GIRAFFE OCA association rules); only the ones present in a header count.
UVES_SETTING_KEYS: tuple[str, ...] = (
    "INS.MODE",
    "INS.PATH",
    "DET.CHIPS",
    "DET.CHIP1.NAME",
    "DET.OUTPUTS",
    "DET.READ.SPEED",
    "DET.WIN1.BINX",
    "DET.WIN1.BINY",
    "INS.GRAT1.ID",
    "INS.GRAT1.WLEN",
    "INS.GRAT2.ID",
    "INS.GRAT2.WLEN",
    "INS.SLIT2.WID",
    "INS.SLIT3.WID",
)
GIRAFFE_SETTING_KEYS: tuple[str, ...] = (
    "DET.CHIP1.ID",
    "DET.READ.CLOCK",
    "DET.READ.MODE",
    "INS.EXP.MODE",
    "INS.GRAT.ID",
    "INS.SLIT.NAME",
)


class ArchiveServerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHOENIX_ARCHIVE_", extra="ignore")

    root: Path = Field(description="archive folder holding raw/ and calib/")
    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(0, ge=0, le=65535, description="port to listen on; 0 picks a free one")
    token: SecretStr | None = Field(None, description="bearer token required by PUT/POST when set")
    calib_setting_keys: tuple[str, ...] = Field(
        UVES_SETTING_KEYS + GIRAFFE_SETTING_KEYS, description="header keys that define a calibration's instrument setting"
    )
    night_start_hour_utc: float = Field(
        12.0, ge=0.0, lt=24.0, description="a night runs from this UTC hour to the same hour next day"
    )
    max_nights_per_listing: int = Field(366, ge=1, description="longest night range one listing may ask for")
    max_upload_bytes: int = Field(4 * 1024**3, ge=1, description="largest calibration upload accepted")
