"""Classify raw frames by the classification rules of an OCA file (compile once, classify many).

Rules run in file order; each rule whose condition holds assigns its keys, so a later true
rule overwrites what an earlier one set. The category is the assigned DO.CATG (else an
assigned PRO.CATG, as Gasgano does), and a file no rule gives one is UNCLASSIFIED.

Headers are plain mappings keyed by OCA names: dotted ESO names (`DPR.CATG` for the card
`HIERARCH ESO DPR CATG`) plus plain FITS keys (`MJD-OBS`, `EXPTIME`, `INSTRUME`).
Classify a file by its primary header: UVES red-arm frames are an empty primary HDU plus
two image extensions (REDU, REDL), and every keyword the rules test (DPR.*, DET.CHIPS,
INS.SLIT1.NAME, ...) is in that primary header, as it is in blue-arm frames.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from services.fetcher.conditions import MISSING, Predicate, compile_condition, keywords_in
from services.fetcher.oca import ClassificationRule, OcaRules, Value, load_oca

if TYPE_CHECKING:
    from astropy.io import fits

UNCLASSIFIED = "UNCLASSIFIED"
CATEGORY_KEYS = ("DO.CATG", "PRO.CATG")
_NO_INPUT_FILE: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Classification:
    category: str
    assigned: Mapping[str, Value]
    matched_lines: tuple[int, ...]
    missing_keywords: tuple[str, ...]
    reason: str

    @property
    def is_classified(self) -> bool:
        return self.category != UNCLASSIFIED


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    matches: Predicate
    assignments: tuple[tuple[str, Value], ...]
    line: int


class Classifier:
    """The classification rules of one OCA file, compiled for fast repeated use.

    Results are remembered by the values of the keywords the rules read (a night has only
    a handful of distinct combinations), so classifying 10^4 frames costs a few hundred
    rule evaluations; `cache_size=0` turns that off.
    """

    def __init__(self, rules: Sequence[ClassificationRule], source: str, cache_size: int = 4096) -> None:
        self._rules = tuple(
            _CompiledRule(
                compile_condition(rule.condition),
                tuple((assignment.keyword, assignment.value) for assignment in rule.assignments),
                rule.line,
            )
            for rule in rules
        )
        self._source_name = Path(source).name
        self._keywords_read = tuple(
            dict.fromkeys(keyword.name for rule in rules for keyword in keywords_in(rule.condition))
        )
        self._cache: dict[tuple[Any, ...], Classification] = {}
        self._cache_size = cache_size

    @classmethod
    def from_rules(cls, rules: OcaRules, cache_size: int = 4096) -> Classifier:
        return cls(rules.classification, rules.source, cache_size)

    @classmethod
    def from_file(cls, path: Path, cache_size: int = 4096) -> Classifier:
        return cls.from_rules(load_oca(path), cache_size)

    @property
    def keywords_read(self) -> tuple[str, ...]:
        """Every keyword some classification rule tests, in order of first use."""
        return self._keywords_read

    def classify(self, keywords: Mapping[str, Any]) -> Classification:
        if self._cache_size == 0:
            return self._evaluate(keywords)
        values = tuple(keywords.get(name, MISSING) for name in self._keywords_read)
        try:
            cached = self._cache.get(values)
        except TypeError:  # an unhashable value: still classifiable, just not remembered
            return self._evaluate(keywords)
        if cached is None:
            cached = self._evaluate(keywords)
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[values] = cached
        return cached

    def _evaluate(self, keywords: Mapping[str, Any]) -> Classification:
        assigned: dict[str, Value] = {}
        matched: list[int] = []
        missing: list[str] = []
        assigned_at: dict[str, int] = {}
        for rule in self._rules:
            if rule.matches(keywords, _NO_INPUT_FILE, missing):
                matched.append(rule.line)
                for key, value in rule.assignments:
                    assigned[key] = value
                    assigned_at[key] = rule.line
        return self._result(assigned, tuple(matched), tuple(dict.fromkeys(missing)), assigned_at)

    def _result(
        self,
        assigned: dict[str, Value],
        matched: tuple[int, ...],
        missing: tuple[str, ...],
        assigned_at: dict[str, int],
    ) -> Classification:
        for key in CATEGORY_KEYS:
            if assigned.get(key):
                reason = f"{key} set by {self._source_name}:{assigned_at[key]}"
                return Classification(str(assigned[key]), MappingProxyType(assigned), matched, missing, reason)
        reason = self._unclassified_reason(matched, missing)
        return Classification(UNCLASSIFIED, MappingProxyType(assigned), matched, missing, reason)

    def _unclassified_reason(self, matched: tuple[int, ...], missing: tuple[str, ...]) -> str:
        if matched:
            lines = ", ".join(str(line) for line in matched)
            reason = f"rules at {self._source_name} lines {lines} matched but set no {' or '.join(CATEGORY_KEYS)}"
        else:
            reason = "no rule matched"
        return f"{reason}; missing {', '.join(missing)}" if missing else reason


def keywords_from_header(header: fits.Header) -> dict[str, Value]:
    """The OCA view of a FITS header: `HIERARCH ESO DPR CATG` → `DPR.CATG`, plain keys as they are.

    Pass the primary header (`fits.getheader(path, 0)`); cards without a value, COMMENT and
    HISTORY are left out.
    """
    from astropy.io import fits  # here only: classifying keywords from the archive needs no astropy (~0.4 s)

    keywords: dict[str, Value] = {}
    for card in header.cards:
        if card.keyword in ("", "COMMENT", "HISTORY") or isinstance(card.value, fits.card.Undefined):
            continue
        keywords[oca_keyword_name(card.keyword)] = card.value
    return keywords


def oca_keyword_name(fits_keyword: str) -> str:
    """`ESO DPR CATG` (astropy's name for a HIERARCH card) → `DPR.CATG`; `MJD-OBS` → `MJD-OBS`."""
    name = fits_keyword.removeprefix("HIERARCH ").removeprefix("ESO ")
    return name.replace(" ", ".")
