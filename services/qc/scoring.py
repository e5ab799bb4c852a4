"""Scoring (pure): a measured value against its threshold → score 0/1/None, a 0–1 grade, a message.

Score 0 = within range (green), 1 = outlier (red), None = unscored (grey) with the reason;
a parameter the threshold set lists as informational is unscored on purpose and says why.
The grade is 1 at the centre of a two-sided range, 0.5 on its edges and falls towards 0
outside, so a person sees how far in or out a value is, not only which side.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache, partial

import numpy as np

from services.qc.extraction import Measurement
from services.qc.thresholds import ProductRules, Threshold, ThresholdKind, ThresholdSet, matches
from shared.contracts import QcScore

MAD_TO_SIGMA = 1.4826
MANDATORY_MISSING = "mandatory parameter missing"
"""Message prefix shown for a mandatory parameter without a value (QcScore.mandatory marks it)."""


@dataclass(frozen=True)
class Range:
    low: float | None
    high: float | None
    origin: str
    """How the range was made, for the message (empty for a fixed range)."""


@dataclass(frozen=True)
class Verdict:
    score: int | None
    grade: float | None
    message: str


def as_number(value: object) -> float | None:
    """A finite float, or None for a missing, non-numeric or non-finite value."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def statistical_range(history: Sequence[float], threshold: Threshold) -> Range | None:
    """median ± k·1.4826·MAD of the last N values, or None when the history is too short."""
    recent = np.asarray(history[-threshold.n:], dtype=float)
    if recent.size < threshold.min_history:
        return None
    centre = float(np.median(recent))
    half = max(threshold.k * MAD_TO_SIGMA * float(np.median(np.abs(recent - centre))), threshold.min_half_width)
    return Range(centre - half, centre + half, f"median ± {threshold.k:g}·MAD of {recent.size}")


def range_for(threshold: Threshold, history: Sequence[float]) -> Range | None:
    if threshold.kind is ThresholdKind.STATISTICAL:
        statistical = statistical_range(history, threshold)
        if statistical is not None:
            return statistical
    if threshold.low is None and threshold.high is None:
        return None
    origin = "" if threshold.kind is ThresholdKind.FIXED else f"fixed fallback, {len(history)} certified values"
    return Range(threshold.low, threshold.high, origin)


def score_value(value: object, threshold: Threshold, history: Sequence[float] = ()) -> Verdict:
    number = as_number(value)
    name = threshold.name
    if number is None:
        reason = "missing" if value is None else f"not a number ({value!r})"
        return Verdict(None, None, f"{name} unscored: {reason}")
    bounds = range_for(threshold, history)
    if bounds is None:
        needed = threshold.min_history
        return Verdict(None, None, f"{name} {_fmt(number, threshold.unit)} unscored: "
                                   f"{len(history)} of {needed} certified values for a statistical range")
    inside = (bounds.low is None or number >= bounds.low) and (bounds.high is None or number <= bounds.high)
    grade = _grade(number, bounds)
    origin = f" ({bounds.origin})" if bounds.origin else ""
    message = f"{name} {_fmt(number, threshold.unit)} {_placement(number, bounds, inside)}{origin}"
    return Verdict(0 if inside else 1, round(grade, 3), message)


def _grade(value: float, bounds: Range) -> float:
    low, high = bounds.low, bounds.high
    if low is not None and high is not None:
        half = (high - low) / 2.0
        distance = abs(value - (low + high) / 2.0)
        if half <= 0:
            return 1.0 if distance == 0 else 0.0
        if distance <= half:
            return 1.0 - 0.5 * distance / half
        return 0.5 * half / (half + (distance - half))
    bound = low if low is not None else high
    assert bound is not None
    scale = abs(bound) or 1.0
    margin = (value - bound) if low is not None else (bound - value)
    if margin >= 0:
        return min(1.0, 0.5 + 0.5 * margin / scale)
    return 0.5 * scale / (scale - margin)


def _placement(value: float, bounds: Range, inside: bool) -> str:
    """`within 2–6`, `above 2–6`, `meets ≥ 10`, `fails ≤ 0.01`."""
    if bounds.low is not None and bounds.high is not None:
        side = "within" if inside else ("below" if value < bounds.low else "above")
        return f"{side} {bounds.low:.4g}–{bounds.high:.4g}"
    limit = f"≥ {bounds.low:.4g}" if bounds.low is not None else f"≤ {bounds.high:.4g}"
    return f"{'meets' if inside else 'fails'} {limit}"


def _fmt(value: float, unit: str) -> str:
    return f"{value:.4g} {unit}".strip()


def rules_by_product(thresholds: ThresholdSet, raw_type: str) -> Callable[[str], ProductRules]:
    """The set's rules for a product of this RAW_TYPE by its PRO.CATG, matched once per PRO.CATG."""
    return cache(partial(thresholds.product_rules, raw_type))


def statistical_needs(thresholds: ThresholdSet, raw_type: str, measurements: Sequence[Measurement]) -> dict[str, int]:
    """Parameters scored against their history, with how many past values each needs."""
    needs: dict[str, int] = {}
    rules = rules_by_product(thresholds, raw_type)
    for measurement in measurements:
        threshold = rules(measurement.pro_catg).threshold(measurement.parameter)
        if threshold is not None and threshold.kind is ThresholdKind.STATISTICAL:
            needs[measurement.parameter] = threshold.n
    return needs


def score_measurements(measurements: Sequence[Measurement], thresholds: ThresholdSet | None, raw_type: str,
                       products: Sequence[tuple[str, str]], histories: Mapping[str, Sequence[float]],
                       no_set_reason: str = "no threshold set") -> list[QcScore]:
    """A QcScore per measurement, plus one per mandatory parameter no product carried.

    `products` are (name, PRO.CATG) of the AB's measured products; `histories` the certified
    past values (oldest first) of statistically thresholded parameters.
    """
    if thresholds is None:
        return [_unscored(m, f"{m.parameter} unscored: {no_set_reason}", "") for m in measurements]
    rules = rules_by_product(thresholds, raw_type)
    scores = [_score(m, rules(m.pro_catg), thresholds.version, histories) for m in measurements]
    return scores + missing_mandatory(measurements, thresholds, raw_type, products)


def missing_mandatory(measurements: Sequence[Measurement], thresholds: ThresholdSet, raw_type: str,
                      products: Sequence[tuple[str, str]]) -> list[QcScore]:
    """Mandatory parameters absent: from a product they apply to, or from the whole AB of a RAW_TYPE they apply to."""
    missing = []
    products_of: dict[str, set[str]] = defaultdict(set)
    for measurement in measurements:
        products_of[measurement.parameter].add(measurement.product)
    for threshold in (t for t in thresholds.thresholds if t.mandatory):
        carried_by = {product for parameter, carrying in products_of.items() if matches(parameter, threshold.parameter)
                      for product in carrying}
        if any(fnmatchcase(raw_type, pattern) for pattern in threshold.applies_to):
            targets: list[str | None] = [None]
        else:
            targets = [name for name, pro_catg in products if threshold.applies("", pro_catg)]
        for product in targets:
            if not (carried_by if product is None else product in carried_by):
                missing.append(QcScore(
                    product=product or "", parameter=threshold.parameter, value=None, unit=threshold.unit,
                    score=None, grade=None, threshold_set=thresholds.version, mandatory=True,
                    message=f"{MANDATORY_MISSING}: {threshold.name} ({threshold.parameter})",
                ))
    return missing


def _score(measurement: Measurement, rules: ProductRules, version: str,
           histories: Mapping[str, Sequence[float]]) -> QcScore:
    threshold = rules.threshold(measurement.parameter)
    if threshold is None:
        reason = rules.informational_reason(measurement.parameter)
        if reason is not None:
            return QcScore(product=measurement.product, parameter=measurement.parameter,
                           value=as_number(measurement.value), unit=measurement.unit, score=None,
                           message=f"{measurement.parameter} informational: {reason}", threshold_set=version,
                           informational=True)
        return _unscored(measurement, f"{measurement.parameter} unscored: no threshold", version)
    verdict = score_value(measurement.value, threshold, histories.get(measurement.parameter, ()))
    message = verdict.message
    if threshold.mandatory and as_number(measurement.value) is None:
        message = f"{MANDATORY_MISSING}: {message}"
    return QcScore(
        product=measurement.product, parameter=measurement.parameter, value=as_number(measurement.value),
        unit=threshold.unit or measurement.unit, score=verdict.score, grade=verdict.grade, message=message,
        threshold_set=version, mandatory=threshold.mandatory,
    )


def _unscored(measurement: Measurement, reason: str, version: str) -> QcScore:
    number = as_number(measurement.value)
    if number is None and measurement.value is not None:
        reason = f"{measurement.parameter} unscored: not a number ({measurement.value!r})"
    return QcScore(product=measurement.product, parameter=measurement.parameter, value=number,
                   unit=measurement.unit, score=None, message=reason, threshold_set=version)
