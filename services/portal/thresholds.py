"""Threshold bands for trend plots, read from the instrument mode's `qc_thresholds.toml` (data).

Only what a plot needs: per threshold set, the validity dates and the fixed range (for a
statistical threshold, the fallback range) of the thresholds whose parameter pattern matches.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from fnmatch import fnmatchcase

from shared.errors import ConfigError
from shared.instruments import mode_dir

THRESHOLDS_FILE = "qc_thresholds.toml"


@dataclass(frozen=True)
class Band:
    version: str
    valid_from: date
    valid_to: date | None
    low: float | None
    high: float | None
    label: str
    unit: str
    kind: str
    applies_to: tuple[str, ...]


def bands_for(instrument_mode: str, parameter: str) -> list[Band]:
    """Every threshold of `parameter` in every set of the mode; empty for an unknown mode."""
    try:
        path = mode_dir(instrument_mode) / THRESHOLDS_FILE
    except ConfigError:
        return []
    if not path.is_file():
        return []
    document = tomllib.loads(path.read_text())
    return [
        Band(
            version=rule_set["version"],
            valid_from=rule_set["valid_from"],
            valid_to=rule_set.get("valid_to"),
            low=threshold.get("low"),
            high=threshold.get("high"),
            label=threshold.get("label", ""),
            unit=threshold.get("unit", ""),
            kind=threshold.get("kind", "fixed"),
            applies_to=tuple(threshold.get("applies_to", ())),
        )
        for rule_set in document.get("sets", [])
        for threshold in rule_set.get("thresholds", [])
        if fnmatchcase(parameter, threshold["parameter"])
    ]
