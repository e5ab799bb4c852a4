"""Releases of the IDP streams, as data: `shared/instruments/<mode>/releases.toml`.

Each file describes one stream (the instrument mode's IDPs): its releases, with a date, the QC
threshold set they were scored with and a human-written markdown description, and which of
them new products belong to by default. They are saved to the `releases` table at start-up.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.errors import ConfigError
from shared.instruments import load_per_mode, load_toml_model

RELEASES_FILE = "releases.toml"


class ReleaseEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    date: date
    threshold_set: str | None = Field(default=None, description="QC threshold set the release was scored with.")
    description: str = Field(min_length=1, description="Markdown: what, with which pipeline and calibrations, limits.")


class StreamReleases(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    instrument_mode: str
    stream: str = Field(min_length=1, max_length=64)
    default_release: str
    releases: list[ReleaseEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_is_listed(self) -> Self:
        names = [release.name for release in self.releases]
        if self.default_release not in names:
            raise ValueError(f"default_release {self.default_release!r} is not among the releases {names}")
        if len(set(names)) != len(names):
            raise ValueError("release names must be unique")
        return self


def load_releases(path: Path) -> StreamReleases:
    return load_toml_model(path, StreamReleases)


def load_all_releases() -> dict[str, StreamReleases]:
    """Every instrument mode's releases by mode; a bad file stops the service, naming file and line."""
    return load_per_mode(RELEASES_FILE, load_releases)


def release_for(instrument_mode: str, streams: dict[str, StreamReleases], override: str | None) -> str | None:
    """The release a product of `instrument_mode` joins: the override, else the stream's default."""
    if override is not None:
        return override
    stream = streams.get(instrument_mode)
    return stream.default_release if stream else None


def check_override(override: str | None, streams: dict[str, StreamReleases]) -> None:
    known = {release.name for stream in streams.values() for release in stream.releases}
    if override is not None and override not in known:
        raise ConfigError(
            f"PHOENIX_INGESTOR_RELEASE={override!r} is not a release of any {RELEASES_FILE}; known: {', '.join(sorted(known))}"
        )
