"""Instrument modes are data: one folder per mode holds its rules as TOML files.

`shared/instruments/<mode lower case>/` has, per kind of declaration, one file
(association, recipes, QC thresholds, certification, SDP values). Each kind has a pydantic
model beside its loader; every file loads and validates at start-up, and a bad file raises
ConfigError naming the file and line.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from shared.errors import ConfigError, DataError

INSTRUMENTS_DIR = Path(__file__).resolve().parent
ModelT = TypeVar("ModelT", bound=BaseModel)
T = TypeVar("T")


class UnknownInstrumentMode(DataError):
    """An event names an instrument mode with no rules: dead-lettered by every service alike."""


class _PerMode(Protocol):
    @property
    def instrument_mode(self) -> str: ...


PerModeT = TypeVar("PerModeT", bound=_PerMode)


def known_modes() -> list[str]:
    return sorted(p.name.upper() for p in INSTRUMENTS_DIR.iterdir() if p.is_dir() and not p.name.startswith("_"))


def known_mode(instrument_mode: str) -> str:
    """The mode itself if it has a rule folder; UnknownInstrumentMode (dead-lettered) otherwise."""
    if instrument_mode not in known_modes():
        raise UnknownInstrumentMode(f"unknown instrument mode {instrument_mode!r}; known: {', '.join(known_modes())}")
    return instrument_mode


def mode_dir(instrument_mode: str) -> Path:
    """The rule folder of an instrument mode, e.g. UVES_ECHELLE → shared/instruments/uves_echelle/."""
    folder = INSTRUMENTS_DIR / instrument_mode.lower()
    if not re.fullmatch(r"[A-Z][A-Z0-9_]*", instrument_mode) or not folder.is_dir():
        raise ConfigError(f"unknown instrument mode {instrument_mode!r}; known: {', '.join(known_modes())}")
    return folder


def load_per_mode(file_name: str, load: Callable[[Path], PerModeT]) -> dict[str, PerModeT]:
    """Every instrument mode's `file_name`, loaded by `load`, by instrument mode; modes without
    the file have none. A bad file stops the service at start-up, naming file and line."""
    loaded = (load(path) for path in sorted(INSTRUMENTS_DIR.glob(f"*/{file_name}")))
    return {rules.instrument_mode: rules for rules in loaded}


def rules_for(rules: Mapping[str, T], instrument_mode: str, what: str) -> T:
    """The `what` (a rule file's name) of `instrument_mode`; an unknown mode raises
    UnknownInstrumentMode, the one outcome every service gives it (dead-lettered with this reason)."""
    found = rules.get(instrument_mode)
    if found is None:
        raise UnknownInstrumentMode(
            f"unknown instrument mode {instrument_mode!r}: no {what} for it; known: {', '.join(sorted(rules)) or 'none'}"
        )
    return found


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
    """The line of a validation error: walks `[[table]]` headers by their index, then the key."""
    lines = text.splitlines()
    start, end = 0, len(lines)
    path: list[str] = []
    for part, following in zip(location, (*location[1:], None)):
        if not isinstance(part, str):
            continue
        path.append(part)
        if isinstance(following, int):
            headers = [i for i in range(start, end) if _is_array_header(lines[i], path)]
            if following < len(headers):
                start = headers[following] + 1
                end = _end_of_table(lines, start, end, len(path))
                continue
        for number in range(start, end):
            if re.match(rf"^\s*\"?{re.escape(part)}\"?\s*=", lines[number]):
                return number + 1
        table = next((n for n in range(start, end) if _is_table_header(lines[n], path)), None)
        if table is not None and not isinstance(following, str):
            return table + 1
        if table is not None:
            start = table + 1
    return start if start else 1


def _is_table_header(line: str, path: list[str]) -> bool:
    return line.strip().replace(" ", "") == f"[{'.'.join(path)}]"


def _is_array_header(line: str, path: list[str]) -> bool:
    return line.strip().replace(" ", "") == f"[[{'.'.join(path)}]]"


def _end_of_table(lines: list[str], start: int, end: int, depth: int) -> int:
    """End of the current [[a.b]] table: the next header of the same or a shallower table."""
    for number in range(start, end):
        header = re.match(r"^\s*\[\[?\s*([\w.]+)\s*\]\]?", lines[number])
        if header and header.group(1).count(".") + 1 <= depth:
            return number
    return end
