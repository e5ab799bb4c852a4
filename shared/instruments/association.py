"""Organisation and association rules of an instrument mode, as data (`association.toml`).

The file holds rule sets, each valid for a range of nights. A rule set says, per raw type
(the DO.CATG classification gives): how raw files group into one association block (AB),
how many files a group needs (minRet/maxRet), the recipe and the products (PRO.CATG) it
makes, and the calibrations it needs: their PRO.CATG, the keywords a candidate must share
with the raw files (a named key set), minRet/maxRet and a validity window in days. Levels
1..3 widen every window by a factor and may drop a calibration's `relaxable` keys;
static calibrations (a line list) have neither window nor keys.

Field and type errors name the file and line through `load_toml_model`; references between
declarations (key set names, relaxable keys, who produces what) are checked after loading
and name the line of the offending value.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cached_property
from graphlib import CycleError
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.contracts import CalibrationRole
from shared.errors import ConfigError, DataError
from shared.instruments import load_toml_model, mode_dir

ASSOCIATION_FILE = "association.toml"
CLASSIFICATION_FILE = "classification.toml"
MAX_LEVEL = 3

Keyword = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_-]*(\.[A-Z0-9_-]+)*$")]
Tag = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$")]


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Level(_Rule):
    """A relaxed association: windows × `window_factor`, and maybe without relaxable keys."""

    level: int = Field(ge=1, le=MAX_LEVEL)
    window_factor: float = Field(ge=1.0)
    relax_keys: bool = False


class StaticCalibration(_Rule):
    pro_catg: Tag
    description: str = ""


class CalibrationRule(_Rule):
    """`select file as PRO_CATG from calibFiles where <match keys equal> ...` with its window."""

    pro_catg: Tag
    role: CalibrationRole = CalibrationRole.MCALIB
    min_ret: int = Field(1, alias="minRet", ge=0)
    max_ret: int = Field(1, alias="maxRet", ge=1)
    match: str | None = Field(None, description="name of a key set; none for a static calibration")
    validity_days: tuple[float, float] | None = Field(
        None, description="[before, after] MJD-OBS_MOD, e.g. [-7.0, 7.0] (ESO's ||-7.0/+7.0)"
    )
    relaxable: tuple[Keyword, ...] = Field((), description="match keys a level with relax_keys ignores")

    @model_validator(mode="after")
    def _counts_and_window(self) -> CalibrationRule:
        if self.min_ret > self.max_ret:
            raise ValueError(f"{self.pro_catg}: minRet {self.min_ret} exceeds maxRet {self.max_ret}")
        if self.validity_days is not None and not self.validity_days[0] <= 0.0 <= self.validity_days[1]:
            raise ValueError(f"{self.pro_catg}: validity_days must be [before <= 0, after >= 0]")
        if (self.match is None) != (self.validity_days is None):
            raise ValueError(f"{self.pro_catg}: give both match and validity_days, or neither (static)")
        return self

    @property
    def required(self) -> bool:
        return self.min_ret >= 1

    @property
    def is_static(self) -> bool:
        return self.match is None


class RawTypeRule(_Rule):
    """Organisation (grouping) and association (recipe, products, calibrations) of one raw type."""

    raw_type: Tag
    dpr_catg: Literal["CALIB", "SCIENCE"]
    recipe: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
    group_by: tuple[Keyword, ...] = Field(min_length=1)
    group_tag: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")] = "tpl"
    min_ret: int = Field(1, alias="minRet", ge=1)
    max_ret: int = Field(1, alias="maxRet", ge=1)
    products: tuple[Tag, ...] = Field(min_length=1)
    calibrations: tuple[CalibrationRule, ...] = ()

    @model_validator(mode="after")
    def _counts(self) -> RawTypeRule:
        if self.min_ret > self.max_ret:
            raise ValueError(f"{self.raw_type}: minRet {self.min_ret} exceeds maxRet {self.max_ret}")
        return self


class RuleSet(_Rule):
    version: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]+$")]
    valid_from: date
    valid_to: date | None = Field(None, description="last night the set applies to; open when absent")
    levels: tuple[Level, ...]
    key_sets: dict[str, tuple[Keyword, ...]]
    static: tuple[StaticCalibration, ...] = ()
    raw_types: tuple[RawTypeRule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _levels_in_order(self) -> RuleSet:
        if [level.level for level in self.levels] != list(range(1, len(self.levels) + 1)):
            raise ValueError(f"rule set {self.version}: levels must be numbered 1, 2, ... in order")
        factors = [1.0] + [level.window_factor for level in self.levels]
        if factors != sorted(factors):
            raise ValueError(f"rule set {self.version}: window_factor must grow with the level")
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError(f"rule set {self.version}: valid_to is before valid_from")
        return self

    def covers(self, night: date) -> bool:
        return self.valid_from <= night and (self.valid_to is None or night <= self.valid_to)

    def rule_for(self, raw_type: str) -> RawTypeRule | None:
        return self._by_raw_type.get(raw_type)

    @cached_property
    def _by_raw_type(self) -> dict[str, RawTypeRule]:
        return {rule.raw_type: rule for rule in self.raw_types}

    @cached_property
    def producers(self) -> dict[str, RawTypeRule]:
        """PRO.CATG → the raw type whose recipe makes it."""
        return {product: rule for rule in self.raw_types for product in rule.products}

    @cached_property
    def static_tags(self) -> frozenset[str]:
        return frozenset(static.pro_catg for static in self.static)

    def match_keys(self, calibration: CalibrationRule) -> tuple[str, ...]:
        return self.key_sets[calibration.match] if calibration.match else ()

    def keywords_read(self, raw_type: str) -> tuple[str, ...]:
        """Every header keyword the rules read from a raw file of this type."""
        rule = self.rule_for(raw_type)
        if rule is None:
            return ()
        keys = ["MJD-OBS", *rule.group_by]
        for calibration in rule.calibrations:
            keys.extend(self.match_keys(calibration))
        return tuple(dict.fromkeys(keys))

    @cached_property
    def dependency_order(self) -> tuple[RawTypeRule, ...]:
        """Raw types ordered so that each comes after the raw types whose products it needs."""
        graph = {
            rule.raw_type: {
                self.producers[c.pro_catg].raw_type for c in rule.calibrations if c.pro_catg in self.producers
            }
            - {rule.raw_type}
            for rule in self.raw_types
        }
        file_position = {rule.raw_type: index for index, rule in enumerate(self.raw_types)}
        return tuple(self._by_raw_type[name] for name in _stable_topological(graph, file_position))


def _stable_topological(graph: dict[str, set[str]], position: dict[str, int]) -> list[str]:
    """Kahn's algorithm taking, among ready raw types, the one written first in the file."""
    remaining = {name: set(needs) for name, needs in graph.items()}
    ordered: list[str] = []
    while remaining:
        ready = sorted((name for name, needs in remaining.items() if not needs), key=position.__getitem__)
        if not ready:
            raise CycleError("rule dependencies form a cycle", sorted(remaining))
        ordered.append(ready[0])
        del remaining[ready[0]]
        for needs in remaining.values():
            needs.discard(ready[0])
    return ordered


class AssociationRules(_Rule):
    instrument: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_-]*$")]
    instrument_mode: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]*$")]
    rule_sets: tuple[RuleSet, ...] = Field(min_length=1)

    def rule_set_for(self, night: date) -> RuleSet:
        for rule_set in self.rule_sets:
            if rule_set.covers(night):
                return rule_set
        raise DataError(f"no {self.instrument_mode} association rule set is valid on {night}")


class ClassificationSource(_Rule):
    """Which OCA file classifies raw frames of the mode: the one a CPL plugin installs."""

    oca_plugin: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]


def load_association_rules(instrument_mode: str) -> AssociationRules:
    """Load, validate and cross-check `shared/instruments/<mode>/association.toml`."""
    path = mode_dir(instrument_mode) / ASSOCIATION_FILE
    rules = load_association_file(path)
    if rules.instrument_mode != instrument_mode:
        raise ConfigError(f"{path}:{_line_of_value(path, rules.instrument_mode)}: instrument_mode is "
                          f"{rules.instrument_mode!r}, the folder is for {instrument_mode!r}")
    return rules


def load_association_file(path: Path) -> AssociationRules:
    rules = load_toml_model(path, AssociationRules)
    check_references(rules, path)
    return rules


def load_classification_source(instrument_mode: str) -> ClassificationSource:
    return load_toml_model(mode_dir(instrument_mode) / CLASSIFICATION_FILE, ClassificationSource)


def pipeline_plugin(instrument_mode: str) -> str:
    """The CPL plugin of a mode's pipeline (uves, giraf): its OCA rules classify the mode's
    frames, its recipes reduce them and its QC dictionary describes their QC."""
    return load_classification_source(instrument_mode).oca_plugin


def check_references(rules: AssociationRules, path: Path) -> None:
    """Cross-references a schema cannot express; the error names the line of the bad value."""
    for rule_set in rules.rule_sets:
        for problem, value in _reference_problems(rule_set):
            raise ConfigError(f"{path}:{_line_of_value(path, value)}: rule set {rule_set.version}: {problem}")
        try:
            rule_set.dependency_order  # noqa: B018 - computing it is the check
        except CycleError as error:
            raise ConfigError(f"{path}: rule set {rule_set.version}: products depend on each other in a cycle: "
                              f"{', '.join(error.args[1])}") from None
    _check_validity_ranges(rules, path)


def _reference_problems(rule_set: RuleSet) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    seen: set[str] = set()
    for rule in rule_set.raw_types:
        if rule.raw_type in seen:
            problems.append((f"raw type {rule.raw_type} is declared twice", rule.raw_type))
        seen.add(rule.raw_type)
        for product in rule.products:
            if rule_set.producers[product] is not rule:
                problems.append((f"{product} is made by two raw types", product))
        for calibration in rule.calibrations:
            problems.extend(_calibration_problems(rule_set, rule, calibration))
    return problems


def _calibration_problems(rule_set: RuleSet, rule: RawTypeRule, calibration: CalibrationRule) -> list[tuple[str, str]]:
    where = f"{rule.raw_type}, calibration {calibration.pro_catg}"
    if calibration.is_static:
        if calibration.pro_catg not in rule_set.static_tags:
            return [(f"{where}: has no match keys but is not a declared static calibration", calibration.pro_catg)]
        return []
    assert calibration.match is not None
    if calibration.match not in rule_set.key_sets:
        return [(f"{where}: unknown key set {calibration.match!r} (known: {', '.join(rule_set.key_sets)})",
                 calibration.match)]
    stray = [key for key in calibration.relaxable if key not in rule_set.key_sets[calibration.match]]
    if stray:
        return [(f"{where}: relaxable key {stray[0]} is not in key set {calibration.match}", stray[0])]
    return []


def _check_validity_ranges(rules: AssociationRules, path: Path) -> None:
    ordered = sorted(rules.rule_sets, key=lambda rule_set: rule_set.valid_from)
    for earlier, later in zip(ordered, ordered[1:]):
        if earlier.valid_to is None or earlier.valid_to >= later.valid_from:
            raise ConfigError(f"{path}:{_line_of_value(path, later.version)}: rule sets {earlier.version} and "
                              f"{later.version} are both valid on {later.valid_from}")


def _line_of_value(path: Path, value: str) -> int:
    """The first line holding `value` as a quoted TOML string (1 when none does)."""
    pattern = re.compile(rf"[\"']{re.escape(value)}[\"']")
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if pattern.search(line.split("#", 1)[0]):
            return number
    return 1
