"""Settings of the archive client (env prefix `PHOENIX_ARCHIVE_`), and which archive they name.

`url` names the archive: a folder (served in-process), an http(s) URL of a phoenix archive, or
`eso:` for ESO's Science Archive (TAP `dbo.raw`, calSelector, the data portal) — `eso:` alone
means ESO's own endpoints, `eso:BASE` all three under one base URL (a mirror, the local stand-in);
`tap_url`, `calselector_url` and `dataportal_url` override one endpoint each.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.errors import ConfigError

ESO_SCHEME = "eso:"
ESO_TAP_URL = "https://archive.eso.org/tap_obs"
ESO_CALSELECTOR_URL = "https://archive.eso.org/calselector/v1/associations"
ESO_DATAPORTAL_URL = "https://dataportal.eso.org/dataPortal/file/"


class ArchiveClientSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHOENIX_ARCHIVE_", extra="ignore", populate_by_name=True)

    url: str = Field(description="archive: a folder, a phoenix archive http(s) URL, `eso:` or `eso:BASE`")
    token: SecretStr | None = Field(
        None, description="bearer token: for a phoenix archive, uploads and retirements; for ESO, proprietary data"
    )
    timeout_seconds: float = Field(30.0, gt=0, description="per-request connect/read timeout")
    max_concurrency: int = Field(8, ge=1, description="requests in flight at once")
    max_attempts: int = Field(4, ge=1, description="attempts per request before giving up")
    backoff_seconds: float = Field(0.5, ge=0, description="first retry delay; doubles per attempt")
    backoff_max_seconds: float = Field(8.0, ge=0, description="cap on the retry delay")
    tap_url: str | None = Field(None, description="ESO: TAP service of dbo.raw (default from `url`)")
    calselector_url: str | None = Field(None, description="ESO: calSelector associations endpoint (default from `url`)")
    dataportal_url: str | None = Field(None, description="ESO: file download prefix, + dp_id (default from `url`)")
    calib_url: str | None = Field(
        None,
        description="ESO: phoenix calibration store (folder or URL) keeping the masters phoenix makes; "
        "default BASE for `eso:BASE`, none for `eso:`",
    )
    cache_dir: Path | None = Field(
        None,
        validation_alias=AliasChoices("PHOENIX_CACHE_DIR", "cache_dir"),
        description="ESO: where downloaded frames and their headers are cached (PHOENIX_CACHE_DIR; "
        "default ~/.cache/phoenix)",
    )
    cache_max_bytes: int = Field(
        20 * 1024**3, ge=0,
        description="ESO: the cached files' total size is kept under this, least recently used first out; "
        "their descriptions (headers, checksums) stay, so a night is listed again without downloads",
    )


@dataclass(frozen=True)
class EsoEndpoints:
    tap: str
    calselector: str
    dataportal: str
    calib_store: str | None


def eso_endpoints(settings: ArchiveClientSettings) -> EsoEndpoints | None:
    """The ESO endpoints `settings` name, or None when the archive is not ESO's interface."""
    if not settings.url.startswith(ESO_SCHEME):
        return None
    base = settings.url.removeprefix(ESO_SCHEME).rstrip("/")
    if base:
        defaults = (f"{base}/tap_obs", f"{base}/calselector/v1/associations", f"{base}/dataPortal/file/")
    else:
        defaults = (ESO_TAP_URL, ESO_CALSELECTOR_URL, ESO_DATAPORTAL_URL)
    dataportal = settings.dataportal_url or defaults[2]
    return EsoEndpoints(
        tap=(settings.tap_url or defaults[0]).rstrip("/"),
        calselector=settings.calselector_url or defaults[1],
        dataportal=dataportal if dataportal.endswith("/") else dataportal + "/",
        calib_store=settings.calib_url or (base or None),
    )


def archive_folder(settings: ArchiveClientSettings) -> Path | None:
    """The local folder `settings.url` names (the stand-in archive of tools/), None for ESO's
    interface or an http(s) URL."""
    if eso_endpoints(settings) is not None or settings.url.startswith(("http://", "https://")):
        return None
    root = Path(settings.url).expanduser()
    if not root.is_dir():
        raise ConfigError(f"archive {settings.url!r} is neither an http(s) URL nor a folder")
    return root


def archive_cache_dir(settings: ArchiveClientSettings) -> Path:
    if settings.cache_dir is not None:
        return settings.cache_dir
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(xdg) / "phoenix"
