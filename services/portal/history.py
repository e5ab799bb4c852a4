"""What the history pages show (pure): night lines, score summaries, AB cover-sheet sections."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from shared.archive.ledger import NightSummary
from shared.archive.models import AbState, Qc1Value

DONE_STATES = (AbState.INGESTED, AbState.CERTIFIED)
FAILED_STATES = (AbState.FAILED, AbState.REJECTED)
STATE_TONES = {
    AbState.INGESTED: "ok", AbState.CERTIFIED: "ok", AbState.FAILED: "bad", AbState.REJECTED: "bad",
    AbState.REVIEW: "warn", AbState.INCOMPLETE: "muted", AbState.WAITING: "muted",
}


INFORMATIONAL = "informational"
"""Key of the informational count in score counters (0 OK, 1 outlier, None unscored)."""
ScoreKey = int | str | None


@dataclass(frozen=True)
class ScoreSummary:
    green: int = 0
    red: int = 0
    grey: int = 0
    """Unscored: no threshold applies and the threshold set does not list the parameter as informational."""
    info: int = 0
    """Informational: unscored on purpose, with the reason in the message."""

    @classmethod
    def of(cls, counts: Counter[ScoreKey] | None) -> ScoreSummary:
        counts = counts or Counter()
        return cls(green=counts.get(0, 0), red=counts.get(1, 0), grey=counts.get(None, 0),
                   info=counts.get(INFORMATIONAL, 0))

    @property
    def total(self) -> int:
        return self.green + self.red + self.grey + self.info


def score_key(score: int | None, informational: bool) -> ScoreKey:
    """How a QC1 value counts on a page: OK, outlier, informational or unscored."""
    return INFORMATIONAL if informational else score


@dataclass(frozen=True)
class NightLine:
    night: date
    requests: int
    calibration_abs: int
    science_abs: int
    raw_types: list[tuple[str, int]]
    done: int
    failed: int
    review: int
    incomplete: int
    in_progress: int
    scores: ScoreSummary

    @property
    def total(self) -> int:
        return self.calibration_abs + self.science_abs


def night_line(
    summary: NightSummary, requests: int, raw_types: Counter[str], scores: Counter[ScoreKey] | None
) -> NightLine:
    states = summary.states
    done = sum(states.get(s, 0) for s in DONE_STATES)
    failed = sum(states.get(s, 0) for s in FAILED_STATES)
    review = states.get(AbState.REVIEW, 0)
    incomplete = states.get(AbState.INCOMPLETE, 0)
    return NightLine(
        night=summary.night,
        requests=requests,
        calibration_abs=summary.calibration_abs,
        science_abs=summary.science_abs,
        raw_types=sorted(raw_types.items()),
        done=done,
        failed=failed,
        review=review,
        incomplete=incomplete,
        in_progress=summary.total - done - failed - review - incomplete,
        scores=ScoreSummary.of(scores),
    )


def state_tone(state: str) -> str:
    """CSS tone of an AB state badge: ok, bad, warn, muted or busy."""
    try:
        return STATE_TONES.get(AbState(state), "busy")
    except ValueError:
        return "busy"


def score_tone(score: int | None) -> str:
    return {0: "ok", 1: "bad"}.get(score, "muted") if score is not None else "muted"


@dataclass(frozen=True)
class AssociationLine:
    """One association-log line, as ESO writes it: EVAL TYPE FILE PRO_CATG DT (+ level, losers)."""

    evaluation: str
    role: str
    file: str
    pro_catg: str
    delta_days: float | None
    level: int | None
    considered: list[str] = field(default_factory=list)


def association_lines(ab: dict[str, Any]) -> list[AssociationLine]:
    return [
        AssociationLine(
            evaluation=str(entry.get("evaluation", "")),
            role=str(entry.get("role", "")),
            file=str(entry.get("file", "")),
            pro_catg=str(entry.get("pro_catg", "")),
            delta_days=entry.get("delta_days"),
            level=entry.get("level"),
            considered=[str(c) for c in entry.get("considered", [])],
        )
        for entry in ab.get("calibrations", [])
    ]


DFOS_FIELDS = (
    ("INSTRUMENT", "instrument"), ("DATE", "night"), ("DPR_CATG", "dpr_catg"), ("RAW_TYPE", "raw_type"),
    ("RECIPE", "recipe"), ("AB_NAME", "ab_name"), ("AB_EVENT", "ab_event"), ("COMPLETENESS", "completeness"),
    ("OBS_PROG_ID", "obs_prog_id"), ("OBS_ID", "obs_id"), ("MJD-OBS", "mjd_obs"), ("MJD-OBS_MOD", "mjd_obs_mod"),
    ("PROD_ROOT_NAME", "prod_root_name"), ("PARAMETER_SET", "parameter_set"),
)


def dfos_fields(ab: dict[str, Any]) -> list[tuple[str, str]]:
    fields = [(label, str(ab[key])) for label, key in DFOS_FIELDS if ab.get(key) not in (None, "")]
    match_key = ab.get("raw_match_key") or {}
    if match_key:
        fields.append(("RAW_MATCH_KEY", " ".join(f"{k}={v}" for k, v in sorted(match_key.items()))))
    if ab.get("incomplete_reason"):
        fields.append(("INCOMPLETE_REASON", str(ab["incomplete_reason"])))
    return fields


@dataclass(frozen=True)
class QcSummary:
    """An AB's QC values as a page shows them: scored ones first, informational and unscored ones
    folded away."""

    scored: list[Qc1Value]
    informational: list[Qc1Value]
    unscored: list[Qc1Value]

    @classmethod
    def of(cls, values: list[Qc1Value]) -> QcSummary:
        scored = sorted((v for v in values if v.score is not None), key=lambda v: (-(v.score or 0), v.parameter))
        unscored = [v for v in values if v.score is None]
        return cls(scored=scored, informational=[v for v in unscored if v.informational],
                   unscored=[v for v in unscored if not v.informational])

    @property
    def counts(self) -> ScoreSummary:
        return ScoreSummary(green=sum(v.score == 0 for v in self.scored), red=sum(v.score == 1 for v in self.scored),
                            grey=len(self.unscored), info=len(self.informational))
