"""Threshold sets as data (`shared/instruments/<mode>/qc_thresholds.toml`), versioned by validity epoch.

A set names its version and the nights it is valid for; each threshold applies to products of
some PRO.CATG or to ABs of some RAW_TYPE (fnmatch patterns) and is fixed (a range) or
statistical (median ± k·MAD of the last N certified values, with a fixed range as fallback
while the history is short).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.instruments import load_toml_model

THRESHOLDS_FILE = "qc_thresholds.toml"
T = TypeVar("T")


def matches(name: str, pattern: str) -> bool:
    """fnmatch, with a pattern that has no wildcard compared as plain text (most QC names are)."""
    return fnmatchcase(name, pattern) if _is_pattern(pattern) else name == pattern


@cache
def _is_pattern(pattern: str) -> bool:
    return any(character in pattern for character in "*?[")


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ThresholdKind(StrEnum):
    FIXED = "fixed"
    STATISTICAL = "statistical"


class Threshold(Rule):
    applies_to: list[str] = Field(min_length=1, description="PRO.CATG or RAW_TYPE patterns (fnmatch).")
    parameter: str = Field(min_length=1, description="Dotted QC parameter name.")
    label: str = Field(default="", description="Short name used in messages, e.g. RON.")
    unit: str = ""
    kind: ThresholdKind = ThresholdKind.FIXED
    low: float | None = None
    high: float | None = None
    k: float = Field(default=5.0, gt=0, description="Statistical: half-width in robust sigmas (1.4826·MAD).")
    n: int = Field(default=30, ge=3, description="Statistical: how many recent certified values to use.")
    min_history: int = Field(default=5, ge=3, description="Statistical: fewer values fall back to low/high.")
    min_half_width: float = Field(default=0.0, ge=0, description="Statistical: floor of the half-width.")
    mandatory: bool = Field(default=False, description="Missing from every product of the AB → hard failure.")
    when: dict[str, str] = Field(
        default_factory=dict,
        description="Only for ABs whose RAW_MATCH_KEY has these keyword values (fnmatch patterns), e.g. "
        "{'INS.GRAT2.WLEN' = '860'}. Listed before the general threshold of the same parameter, it replaces it.",
    )

    @model_validator(mode="after")
    def _has_a_range(self) -> Self:
        if self.kind is ThresholdKind.FIXED and self.low is None and self.high is None:
            raise ValueError("a fixed threshold needs low and/or high")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self

    def applies(self, raw_type: str, pro_catg: str) -> bool:
        return any(fnmatchcase(raw_type, p) or fnmatchcase(pro_catg, p) for p in self.applies_to)

    def holds_for(self, setting: Mapping[str, str]) -> bool:
        return all(fnmatchcase(setting.get(key, ""), pattern) for key, pattern in self.when.items())

    @property
    def name(self) -> str:
        return self.label or self.parameter


class Informational(Rule):
    """QC parameters measured and kept but deliberately not scored, with the reason: a count or
    position that follows from the setting, or a diagnostic that has no physical limit."""

    applies_to: list[str] = Field(min_length=1, description="PRO.CATG or RAW_TYPE patterns (fnmatch).")
    parameters: list[str] = Field(min_length=1, description="Dotted QC parameter names or fnmatch patterns.")
    reason: str = Field(min_length=1, description="Why no threshold applies; shown beside the value.")

    def applies(self, raw_type: str, pro_catg: str) -> bool:
        return any(fnmatchcase(raw_type, p) or fnmatchcase(pro_catg, p) for p in self.applies_to)


class ProductRules:
    """The thresholds and informational listings of a set that apply to one product (by its
    PRO.CATG, or its AB's RAW_TYPE): matched once per product, then each of its parameters is
    looked up by name, the first in the file's order winning."""

    def __init__(self, thresholds: list[Threshold], informational: list[Informational]) -> None:
        self._thresholds = FirstMatch([(t.parameter, t) for t in thresholds])
        self._informational = FirstMatch([(p, i.reason) for i in informational for p in i.parameters])

    def threshold(self, parameter: str) -> Threshold | None:
        """The first threshold for this parameter."""
        return self._thresholds.first(parameter)

    def informational_reason(self, parameter: str) -> str | None:
        """Why this parameter is informational; None when it is not listed."""
        return self._informational.first(parameter)


class FirstMatch(Generic[T]):
    """The value of the first (fnmatch pattern, value) pair whose pattern matches a name: a plain
    name is found in a dictionary, and only wildcard patterns listed before it are tried."""

    def __init__(self, pairs: list[tuple[str, T]]) -> None:
        self._plain: dict[str, tuple[int, T]] = {}
        self._patterns: list[tuple[int, str, T]] = []
        self._end = len(pairs)
        for position, (pattern, value) in enumerate(pairs):
            if _is_pattern(pattern):
                self._patterns.append((position, pattern, value))
            else:
                self._plain.setdefault(pattern, (position, value))

    def first(self, name: str) -> T | None:
        position, value = self._plain.get(name, (self._end, None))
        for before, pattern, candidate in self._patterns:
            if before > position:
                break
            if fnmatchcase(name, pattern):
                return candidate
        return value


class NominalRange(Rule):
    """Wavelength range of a standard setting, for the coverage QC of science spectra."""

    setting: str = Field(description="Arm/chip and central wavelength, e.g. BLUE_390, REDL_580.")
    min_nm: float = Field(gt=0)
    max_nm: float = Field(gt=0)


class ThresholdSet(Rule):
    version: str = Field(min_length=1)
    valid_from: date
    valid_to: date | None = Field(default=None, description="First night no longer covered; open when absent.")
    description: str = ""
    thresholds: list[Threshold] = Field(default_factory=list)
    informational: list[Informational] = Field(
        default_factory=list, description="Parameters listed as informational; a threshold of the same one wins."
    )

    def valid_for(self, night: date) -> bool:
        return self.valid_from <= night and (self.valid_to is None or night < self.valid_to)

    def for_setting(self, setting: Mapping[str, str]) -> ThresholdSet:
        """The thresholds for an AB of this instrument setting (its RAW_MATCH_KEY): those whose
        `when` holds, and of several for the same parameter and products only the first."""
        kept, seen = [], set()
        for threshold in self.thresholds:
            identity = (threshold.parameter, tuple(threshold.applies_to))
            if threshold.holds_for(setting) and identity not in seen:
                kept.append(threshold)
                seen.add(identity)
        return self.model_copy(update={"thresholds": kept})

    def for_product(self, raw_type: str, pro_catg: str) -> list[Threshold]:
        return [t for t in self.thresholds if t.applies(raw_type, pro_catg)]

    def product_rules(self, raw_type: str, pro_catg: str) -> ProductRules:
        return ProductRules(self.for_product(raw_type, pro_catg),
                            [i for i in self.informational if i.applies(raw_type, pro_catg)])


class ThresholdFile(Rule):
    instrument_mode: str
    saturation_adu: float = Field(default=65535.0, gt=0, description="Raw pixels at or above count as saturated.")
    nominal_ranges: list[NominalRange] = Field(default_factory=list)
    sets: list[ThresholdSet] = Field(min_length=1)

    @model_validator(mode="after")
    def _versions_are_unique(self) -> Self:
        versions = [s.version for s in self.sets]
        if len(set(versions)) != len(versions):
            raise ValueError(f"threshold set versions repeat: {versions}")
        return self

    def select(self, night: date, release_set: str | None = None) -> ThresholdSet | None:
        """The named release's set, else the set valid for the night (the latest starting one)."""
        if release_set:
            return next((s for s in self.sets if s.version == release_set), None)
        valid = [s for s in self.sets if s.valid_for(night)]
        return max(valid, key=lambda s: s.valid_from, default=None)

    def nominal_range(self, setting: str) -> NominalRange | None:
        return next((r for r in self.nominal_ranges if r.setting == setting), None)


def load_thresholds(path: Path) -> ThresholdFile:
    """Parse and validate a threshold file; any error names the file and its line."""
    return load_toml_model(path, ThresholdFile)
