"""A minimal reader of the classification part of ESO's OCA rules, enough to check simulated headers.

Only `if <condition> then { DO.CATG = "X"; }` rules are read; later true rules win, as in OCA.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

_RULE = re.compile(r'if\s+(.*?)\s+then\s*\{[^}]*?DO\.CATG\s*=\s*"([^"]+)"', re.DOTALL)
_LIKE = re.compile(r'([A-Z][A-Z0-9_.\-]*)\s+like\s+"([^"]*)"')
_COMPARE = re.compile(r'([A-Z][A-Z0-9_.\-]*)\s*(==|!=|>=|<=|>|<)\s*("[^"]*"|[-+0-9.]+)')


def classification_rules(path: Path) -> list[tuple[str, str]]:
    """(python expression over `h`, category) per classification rule, in file order."""
    rules = []
    for condition, category in _RULE.findall(path.read_text()):
        if "PRO.CATG" in condition:
            continue
        expression = _LIKE.sub(
            lambda m: f"_like(h.get({m.group(1)!r}), {m.group(2)!r})", " ".join(condition.split())
        )
        expression = _COMPARE.sub(
            lambda m: f"_cmp(h.get({m.group(1)!r}), {m.group(2)!r}, {m.group(3)})", expression
        )
        rules.append((expression, category))
    return rules


def classify(header: Mapping[str, object], rules: list[tuple[str, str]]) -> str:
    """The category of a flattened header (`DPR.CATG` style keys); UNCLASSIFIED when no rule holds."""
    category = "UNCLASSIFIED"
    for expression, candidate in rules:
        try:
            holds = eval(expression, {"_like": _like, "_cmp": _cmp, "h": header})  # noqa: S307 - our own translation
        except SyntaxError:
            continue
        if holds:
            category = candidate
    return category


def _like(value: object, pattern: str) -> bool:
    if value is None:
        return False
    regex = "^" + ".*".join(re.escape(part) for part in pattern.split("%")) + "$"
    return re.match(regex, str(value)) is not None


def _cmp(value: object, operator: str, expected: object) -> bool:
    if value is None:
        return False
    if isinstance(expected, str):
        value = str(value)
    else:
        try:
            value = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
    return {
        "==": value == expected,
        "!=": value != expected,
        ">=": value >= expected,  # type: ignore[operator]
        "<=": value <= expected,
        ">": value > expected,
        "<": value < expected,  # type: ignore[operator]
    }[operator]


def flatten(header: Mapping[str, object]) -> dict[str, object]:
    """`HIERARCH ESO DPR CATG` / `ESO DPR CATG` → `DPR.CATG`; other keys unchanged."""
    flat = {}
    for key, value in header.items():
        name = key.removeprefix("HIERARCH ").removeprefix("ESO ")
        flat[name.replace(" ", ".") if key.startswith(("ESO ", "HIERARCH ESO ")) else key] = value
    return flat
