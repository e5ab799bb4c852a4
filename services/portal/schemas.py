"""Response and request bodies of the JSON API (pydantic v2)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from shared.archive.catalogue import MAX_PAGE_SIZE

MAX_OFFSET = 10_000_000


class Response(BaseModel):
    model_config = ConfigDict(frozen=True)


class ProductLinks(Response):
    self: str = Field(description="This product's metadata.")
    file: str = Field(description="The product file (needs a token with scope download).")


class ProductSummary(Response):
    product_id: str = Field(examples=["PHX.2026-11-24T18:00:00.123.1"])
    instrument: str = Field(examples=["UVES"])
    arm: str = Field(examples=["BLUE"])
    prodcatg: str = Field(examples=["SCIENCE.SPECTRUM"])
    target_name: str = Field(examples=["HD 1234"])
    ra: float | None = Field(description="ICRS right ascension [deg].")
    dec: float | None = Field(description="ICRS declination [deg].")
    distance_deg: float | None = Field(default=None, description="From the cone centre, in a cone search [deg].")
    night: date | None
    t_min: float | None = Field(description="Start of exposure [MJD].")
    t_max: float | None = Field(description="End of exposure [MJD].")
    exposure_seconds: float | None
    wavelength_min_nm: float | None
    wavelength_max_nm: float | None
    resolving_power: float | None
    snr: float | None
    calib_level: int
    status: str = Field(examples=["CURRENT"])
    version: int
    release: str | None
    file_size_bytes: int
    sha256: str
    ingested_at: datetime
    links: ProductLinks


class SearchPage(Response):
    total: int = Field(description="Matches of the whole query, not only this page, counted up to 1,000 or to "
                       "the end of this page: when total_exact is false there are more.")
    total_exact: bool = Field(default=True, description="False when counting stopped at `total`.")
    limit: int
    offset: int
    products: list[ProductSummary]
    next: str | None = Field(description="URL of the next page; none on the last one.")


class ProvenanceEntry(Response):
    kind: str = Field(examples=["RAW"])
    name: str
    sha256: str


class AncillaryEntry(Response):
    kind: str = Field(examples=["PREVIEW"])
    name: str
    size_bytes: int
    url: str


class VersionEntry(Response):
    product_id: str
    version: int
    status: str
    ingested_at: datetime
    supersedes: str | None


class ProcessingEntry(Response):
    recipe: str = Field(examples=["uves_obs_scired"])
    pipeline_version: str = Field(examples=["uves/6.1.8"])
    phoenix_version: str = Field(examples=["0.1.0"])
    parameters: dict[str, str] = Field(examples=[{"reduce.extract.method": "optimal"}])


class ProductDetail(ProductSummary):
    ab_id: str
    supersedes: str | None
    processing: ProcessingEntry
    provenance: list[ProvenanceEntry]
    files: list[AncillaryEntry]
    versions: list[VersionEntry]


class RequestAccepted(Response):
    request_id: uuid.UUID
    topic: str = Field(examples=["date-requested"])


class Health(Response):
    status: str = Field(examples=["ok"])
    database: str = Field(examples=["sqlite"])


class ProductSearch(BaseModel):
    """The product search's query parameters, shared by `/api/products` and the `/search` page. An
    empty value (an empty form field) means the filter is not given."""

    model_config = ConfigDict(frozen=True)

    target: str | None = Field(default=None, max_length=255,
                               description="Target name or its start; case, spaces and punctuation are ignored.")
    ra: float | None = Field(default=None, ge=0, le=360, description="Cone centre RA [deg].")
    dec: float | None = Field(default=None, ge=-90, le=90, description="Cone centre Dec [deg].")
    radius: float | None = Field(default=None, gt=0, le=180, description="Cone radius [deg].")
    wavelength_min_nm: float | None = Field(default=None, ge=0, le=1e6, description="Coverage overlaps from [nm].")
    wavelength_max_nm: float | None = Field(default=None, ge=0, le=1e6, description="Coverage overlaps up to [nm].")
    instrument: str | None = Field(default=None, max_length=32)
    night_from: date | None = Field(default=None, description="First night, YYYY-MM-DD.")
    night_to: date | None = Field(default=None, description="Last night, YYYY-MM-DD.")
    min_snr: float | None = Field(default=None, ge=0, le=1e6)
    release: str | None = Field(default=None, max_length=128)
    include_obsolete: bool = Field(default=False, description="Also superseded and withdrawn versions.")
    limit: int = Field(default=100, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_absent(cls, value: object, info: ValidationInfo) -> object:
        if isinstance(value, str) and not value.strip():
            return cls.model_fields[info.field_name].default
        return value

    @property
    def given(self) -> bool:
        """Whether any filter was given (a bare form shows no results)."""
        return any(getattr(self, name) is not None for name in FILTERS)


FILTERS = ("target", "ra", "dec", "radius", "wavelength_min_nm", "wavelength_max_nm", "instrument", "night_from",
           "night_to", "min_snr", "release")
