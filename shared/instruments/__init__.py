"""Instrument modes are data: one folder per mode holds its rules as TOML files.

`shared/instruments/<mode lower case>/` has, per kind of declaration, one file
(association, recipes, QC thresholds, certification, SDP values). Each kind has a pydantic
model beside its loader; every file loads and validates at start-up, and a bad file raises
ConfigError naming the file and line.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from shared.errors import ConfigError

INSTRUMENTS_DIR = Path(__file__).resolve().parent
ModelT = TypeVar("ModelT", bound=BaseModel)


def known_modes() -> list[str]:
    return sorted(p.name.upper() for p in INSTRUMENTS_DIR.iterdir() if p.is_dir() and not p.name.startswith("_"))


def mode_dir(instrument_mode: str) -> Path:
    """The rule folder of an instrument mode, e.g. UVES_ECHELLE → shared/instruments/uves_echelle/."""
    folder = INSTRUMENTS_DIR / instrument_mode.lower()
    if not re.fullmatch(r"[A-Z][A-Z0-9_]*", instrument_mode) or not folder.is_dir():
        raise ConfigError(f"unknown instrument mode {instrument_mode!r}; known: {', '.join(known_modes())}")
    return folder


def load_toml_model(path: Path, model: type[ModelT]) -> ModelT:
    """Parse and validate one rule file; any error names the file and line."""
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read rule file: {error.strerror}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: {error}") from None
    try:
        return model.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        raise ConfigError(
            f"{path}:{_line_of(text, first['loc'])}: {location}: {first['msg']}"
            + (f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else "")
        ) from None


def _line_of(text: str, location: tuple[object, ...]) -> int:
    """Best line for an error at `location`: the last named key found on a line of its own."""
    for key in reversed([part for part in location if isinstance(part, str)]):
        pattern = re.compile(rf"^\s*(\[+\s*)?[\w.\"-]*\b{re.escape(key)}\b", re.M)
        match = pattern.search(text)
        if match:
            return text.count("\n", 0, match.start()) + 1
    return 1
