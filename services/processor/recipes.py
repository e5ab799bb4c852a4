"""Recipes as data: which frames a recipe takes, its parameter sets, what it must make, and
the QC conditions that say it found nothing. Loaded from `shared/instruments/<mode>/recipes.toml`;
everything here is pure (no I/O besides loading the file).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.processor.backends import QcValue
from shared.contracts import AssociationBlock, ProcessingMode, ProductKind
from shared.errors import DataError
from shared.instruments import load_per_mode, load_toml_model, mode_dir

RECIPES_FILE = "recipes.toml"
PARAMETER_SETS = ("IDP", "MCALIB")
TAG = r"^[A-Z][A-Z0-9_]*$"
ParameterValue = str | int | float | bool


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class JunkGate(Rule):
    """A QC condition the product must meet, or the recipe found nothing."""

    products: str = Field(description="Glob on PRO.CATG.")
    qc: str = Field(pattern=r"^QC\.", description="Glob on the dotted QC key.")
    aggregate: Literal["first", "max", "median"] = "first"
    per: str | None = Field(default=None, pattern=r"^QC\.", description="Divide by this QC key.")
    min: float | None = None
    max: float | None = None
    found: str = Field(min_length=1, description="What the value counts, for the FAILED reason.")

    @model_validator(mode="after")
    def _has_a_bound(self) -> JunkGate:
        if self.min is None and self.max is None:
            raise ValueError("a junk gate needs min or max")
        return self

    def violation(self, recipe: str, pro_catg: str, qc: Mapping[str, QcValue]) -> str | None:
        """Why this product is junk, or None when it passes."""
        values = [float(v) for key, v in qc.items() if fnmatchcase(key, self.qc) and isinstance(v, int | float)]
        where = f"{recipe} {pro_catg}"
        if not values:
            return f"{where}: no {self.qc} in the product, so no {self.found} can be checked"
        value = {"first": values[0], "max": max(values), "median": statistics.median(values)}[self.aggregate]
        if self.per is not None:
            denominator = qc.get(self.per)
            if not isinstance(denominator, int | float) or denominator == 0:
                return f"{where}: {self.per} is {denominator!r}, so no {self.found} can be computed"
            value /= float(denominator)
        if self.min is not None and value < self.min:
            return f"{where} found {_number(value)} {self.found}, at least {_number(self.min)} expected"
        if self.max is not None and value > self.max:
            return f"{where} found {_number(value)} {self.found}, at most {_number(self.max)} expected"
        return None


class Deliveries(Rule):
    MCALIB: list[str] = Field(default_factory=list, description="Globs of master calibrations.")
    PIPELINE: list[str] = Field(default_factory=list, description="Globs of other products downstream needs.")


class Recipe(Rule):
    timeout_seconds: float | None = Field(default=None, gt=0, description="None: the processor's default.")
    raw_tags: list[str] = Field(min_length=1)
    calibration_tags: list[str] = Field(default_factory=list)
    parameters: dict[str, dict[str, ParameterValue]]
    expected: dict[str, list[str]] = Field(description="Arm → PRO.CATG globs the recipe must write.")
    deliver: Deliveries
    junk_gates: list[JunkGate] = Field(default_factory=list)

    @model_validator(mode="after")
    def _complete(self) -> Recipe:
        missing_sets = [name for name in PARAMETER_SETS if name not in self.parameters]
        if missing_sets:
            raise ValueError(f"parameter sets {', '.join(missing_sets)} missing")
        missing_arms = sorted({arm_of(tag) for tag in self.raw_tags} - set(self.expected))
        if missing_arms:
            raise ValueError(f"no expected products for arm(s) {', '.join(missing_arms)}")
        return self

    def esorex_parameters(self, parameter_set: str) -> dict[str, str]:
        if parameter_set not in self.parameters:
            raise DataError(f"no parameter set {parameter_set!r}; known: {', '.join(sorted(self.parameters))}")
        return {name: _esorex_text(value) for name, value in sorted(self.parameters[parameter_set].items())}

    def refused_tags(self, raw_tags: Iterable[str], calibration_tags: Iterable[str]) -> list[str]:
        refused = [f"raw tag {tag}" for tag in raw_tags if tag not in self.raw_tags]
        refused += [f"calibration tag {tag}" for tag in calibration_tags if tag not in self.calibration_tags]
        return refused

    def kind_of(self, pro_catg: str) -> ProductKind | None:
        """MCALIB or PIPELINE for a product downstream needs; None for one left behind."""
        if any(fnmatchcase(pro_catg, glob) for glob in self.deliver.MCALIB):
            return ProductKind.MCALIB
        if any(fnmatchcase(pro_catg, glob) for glob in self.deliver.PIPELINE):
            return ProductKind.PIPELINE
        return None

    def junk_reasons(self, recipe: str, arm: str, products: Mapping[str, Mapping[str, QcValue]]) -> list[str]:
        """Why the products of an exit-0 run are junk (empty when they are not): a missing
        expected product, or a product failing a junk gate. `products`: PRO.CATG → QC."""
        reasons = [
            f"{recipe} exited 0 but wrote no {glob} product"
            for glob in self.expected.get(arm, [])
            if not any(fnmatchcase(category, glob) for category in products)
        ]
        for gate in self.junk_gates:
            for category, qc in sorted(products.items()):
                if fnmatchcase(category, gate.products) and (reason := gate.violation(recipe, category, qc)):
                    reasons.append(reason)
        return reasons


class RecipeCatalogue(Rule):
    instrument_mode: str = Field(pattern=TAG)
    recipes: dict[str, Recipe]

    def recipe(self, name: str) -> Recipe:
        if name not in self.recipes:
            raise DataError(f"unknown recipe {name!r} for {self.instrument_mode}; known: {', '.join(sorted(self.recipes))}")
        return self.recipes[name]


def load_recipes(instrument_mode: str) -> RecipeCatalogue:
    """The recipes of one instrument mode; ConfigError naming file and line when invalid."""
    return load_toml_model(mode_dir(instrument_mode) / RECIPES_FILE, RecipeCatalogue)


def load_all_recipes() -> dict[str, RecipeCatalogue]:
    """Every instrument mode's recipes, by mode; modes without a recipes file have none."""
    return load_per_mode(RECIPES_FILE, lambda path: load_toml_model(path, RecipeCatalogue))


def arm_of(tag: str) -> str:
    """BLUE or RED: the arm suffix of a raw tag (`SCI_POINT_RED` → RED)."""
    return tag.rsplit("_", 1)[-1]


def parameter_set_for(ab: AssociationBlock) -> str:
    """The AB's own parameter set, else its mode's; a COMPLETE campaign reduces science as
    IDP and calibrations as MCALIB."""
    if ab.parameter_set:
        return ab.parameter_set
    if ab.mode is ProcessingMode.COMPLETE:
        return "IDP" if ab.dpr_catg == "SCIENCE" else "MCALIB"
    return ab.mode.value


def _esorex_text(value: ParameterValue) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value)


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.3g}"
