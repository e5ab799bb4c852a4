"""Certification policies (pure): an AB's QC scores and its RAW_TYPE's policy → a decision.

Policies are data (`shared/instruments/<mode>/certification.toml`). A FAILED processing result
or a missing mandatory QC parameter is REJECTED whatever the policy; then ALL sends every AB to
review, NONZERO the ABs with an outlier, with nothing scored or of a listed RAW_TYPE, and RANDOM
also a reproducible sample of the good ones (at least one per night and RAW_TYPE).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts import Decision, ProcessStatus, QcScore
from shared.instruments import load_toml_model

CERTIFICATION_FILE = "certification.toml"
SAMPLED = "randomly sampled"
"""Reason prefix of a zero-score AB sent to review by RANDOM."""


class PolicyName(StrEnum):
    ALL = "ALL"
    NONZERO = "NONZERO"
    RANDOM = "RANDOM"


class Policy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    raw_types: list[str] = Field(min_length=1, description="RAW_TYPE patterns (fnmatch) the policy governs.")
    policy: PolicyName
    review_raw_types: list[str] = Field(default_factory=list, description="NONZERO/RANDOM: always reviewed.")
    percent: float = Field(default=0.0, ge=0, le=100, description="RANDOM: share of zero-score ABs reviewed.")

    @model_validator(mode="after")
    def _percent_only_for_random(self) -> Self:
        if self.policy is PolicyName.RANDOM and self.percent <= 0:
            raise ValueError("a RANDOM policy needs percent > 0")
        if self.policy is not PolicyName.RANDOM and self.percent:
            raise ValueError(f"percent applies to RANDOM only, not {self.policy}")
        return self

    def governs(self, raw_type: str) -> bool:
        return any(fnmatchcase(raw_type, pattern) for pattern in self.raw_types)


class CertificationRules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    instrument_mode: str
    seed: str = Field(min_length=1, description="Seeds the RANDOM choice: change it to draw a new sample.")
    policies: list[Policy] = Field(min_length=1)

    def policy_for(self, raw_type: str) -> Policy | None:
        return next((p for p in self.policies if p.governs(raw_type)), None)


def load_rules(path: Path) -> CertificationRules:
    return load_toml_model(path, CertificationRules)


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    policy: str
    reason: str


def sampled(ab_id: str, seed: str, percent: float) -> bool:
    """Reproducible choice of `percent` % of ABs: the hash of seed and AB id, read as a fraction."""
    digest = hashlib.sha256(f"{seed}:{ab_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < percent / 100.0


def decide(ab_id: str, raw_type: str, status: ProcessStatus, failure: str, scores: Sequence[QcScore],
           rules: CertificationRules, night_already_sampled: bool) -> Verdict:
    """The decision on one AB. `night_already_sampled`: RANDOM already sent a zero-score AB of
    this night and RAW_TYPE to review (otherwise this one goes, so every night gets one)."""
    policy = rules.policy_for(raw_type)
    name = policy.policy.value if policy else ""
    if status is ProcessStatus.FAILED:
        return Verdict(Decision.REJECTED, name, f"processing failed: {failure or 'no reason given'}")
    missing = [s for s in scores if s.mandatory and s.value is None]
    if missing:
        return Verdict(Decision.REJECTED, name, _summary(f"{len(missing)} mandatory QC parameter(s) missing", missing))
    if policy is None:
        return Verdict(Decision.REVIEW, name, f"no certification policy covers RAW_TYPE {raw_type}")
    return _apply(policy, ab_id, raw_type, scores, rules.seed, night_already_sampled)


def _apply(policy: Policy, ab_id: str, raw_type: str, scores: Sequence[QcScore], seed: str,
           night_already_sampled: bool) -> Verdict:
    name = policy.policy.value
    if policy.policy is PolicyName.ALL:
        return Verdict(Decision.REVIEW, name, "policy ALL: every AB is reviewed")
    outliers = [s for s in scores if s.score == 1]
    if outliers:
        return Verdict(Decision.REVIEW, name, _summary(f"{len(outliers)} QC parameter(s) scored 1", outliers))
    scored = [s for s in scores if s.score is not None]
    if not scored:
        return Verdict(Decision.REVIEW, name, "no QC parameter was scored")
    if any(fnmatchcase(raw_type, pattern) for pattern in policy.review_raw_types):
        return Verdict(Decision.REVIEW, name, f"RAW_TYPE {raw_type} is always reviewed")
    if policy.policy is PolicyName.RANDOM:
        if sampled(ab_id, seed, policy.percent):
            return Verdict(Decision.REVIEW, name, f"{SAMPLED} ({policy.percent:g} % of good ABs)")
        if not night_already_sampled:
            return Verdict(Decision.REVIEW, name, f"{SAMPLED} (first good AB of the night for {raw_type})")
    return Verdict(Decision.CERTIFIED, name, f"all {len(scored)} scored QC parameters are 0")


def _summary(head: str, scores: Sequence[QcScore], shown: int = 3) -> str:
    details = "; ".join(s.message for s in scores[:shown])
    more = f"; and {len(scores) - shown} more" if len(scores) > shown else ""
    return f"{head}: {details}{more}"
