"""Association blocks (ABs) from classified raw frames and the calibration catalogue: pure, no I/O.

Organisation: the frames of each raw type that has a rule are grouped by the rule's
`group_by` keywords; a group larger than maxRet is split into balanced ABs (science
exposures, maxRet = 1, get one AB each); a group smaller than minRet is an INCOMPLETE AB.

Association, per calibration the rule asks for: every candidate of that PRO.CATG is graded.
Level 0 means the match keys are equal and Δt = calibration MJD-OBS − AB MJD-OBS_MOD lies in
the validity window; levels 1..3 widen the window by the rule set's factors and, where a
level says so, ignore the calibration's relaxable keys; a candidate outside level 3 is
refused. The best level wins, then (see modes) the preferred source, then the smallest |Δt|,
then the file name, so the choice never depends on input order. Losers are kept in
`considered` with the reason. A required calibration without an eligible candidate makes
the AB INCOMPLETE, with the reason.

Modes:
- IDP: science ABs only, against CURRENT calibrations of the store.
- MCALIB: calibration ABs of the pool in dependency order (bias → predict → orderpos →
  mflat → wavecal, derived from the rules' products and needs); its science frames are
  listed as not used, with that reason, so they are not dropped unseen. Each COMPLETE calibration
  AB offers its products to the ABs after it as *pending* candidates, named
  `<ab_id>:<PRO.CATG>` (see `pending_file`), with the producer's MJD-OBS and setting. An
  association that picks one has evaluation PENDING and its producer's ab_id is in the AB's
  `depends_on`. At equal level, products of the pool win over the store's.
- COMPLETE: as MCALIB, then the science ABs, but at equal level the store's certified
  calibrations win; only calibration ABs some science AB needs (directly or through other
  calibration ABs) are kept.

A waiting AB is released by `resolve_pending` once its producers' products are certified
(PENDING associations then name the real files), or made INCOMPLETE when a producer was
rejected.
"""

from __future__ import annotations

import bisect
import hashlib
import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.fetcher.night import ClassifiedFrame
from shared.contracts import Association, AssociationBlock, Completeness, ProcessingMode, RawFrame
from shared.instruments.association import AssociationRules, CalibrationRule, RawTypeRule, RuleSet

PENDING = "PENDING"
OK = "OK"
NOK = "NOK"
CURRENT = "current"
MAX_CONSIDERED = 10
SECONDS_PER_DAY = 86400.0
_DAYS_DECIMALS = 5


class CalibrationRecord(Protocol):
    """What the association reads of a calibration-store entry (`shared.rawarchive.models.CalibInfo`)."""

    @property
    def name(self) -> str: ...
    @property
    def filename(self) -> str: ...
    @property
    def pro_catg(self) -> str: ...
    @property
    def mjd_obs(self) -> float | None: ...
    @property
    def setting(self) -> Mapping[str, Any]: ...
    @property
    def status(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Candidate:
    """A calibration an AB could use: certified in the store, or pending (made by `producer`)."""

    file: str
    pro_catg: str
    mjd_obs: float | None
    setting: Mapping[str, Any]
    producer: str | None = None

    @property
    def is_pending(self) -> bool:
        return self.producer is not None

    @classmethod
    def certified(cls, record: CalibrationRecord) -> Candidate:
        return cls(record.filename, record.pro_catg, record.mjd_obs, record.setting)


@dataclass(frozen=True, slots=True)
class Skipped:
    arcfile: str
    category: str
    reason: str


@dataclass(frozen=True, slots=True)
class Associated:
    blocks: list[AssociationBlock]
    """In dependency order: every AB comes after the ABs it depends on."""
    skipped: list[Skipped]
    """Frames no AB uses because no rule covers them (UNCLASSIFIED included)."""


def pending_file(producer_ab_id: str, pro_catg: str) -> str:
    return f"{producer_ab_id}:{pro_catg}"


def split_pending_file(file: str) -> tuple[str, str]:
    producer, _, pro_catg = file.rpartition(":")
    return producer, pro_catg


def associate(
    frames: Sequence[ClassifiedFrame],
    catalogue: Iterable[CalibrationRecord],
    mode: ProcessingMode,
    rules: AssociationRules,
    rule_set: RuleSet | None = None,
) -> Associated:
    """The ABs of a night or pool of nights; the rule set defaults to the one valid on the first night."""
    if not frames:
        return Associated([], [])
    rule_set = rule_set or rules.rule_set_for(min(frame.night for frame in frames))
    by_category, skipped = _by_raw_type(frames, rule_set)
    context = _Context(rules, rule_set, mode, _certified_candidates(catalogue))
    blocks: list[AssociationBlock] = []
    for rule in rule_set.dependency_order:
        if not _mode_wants(mode, rule):
            if mode is ProcessingMode.MCALIB:
                skipped += [Skipped(frame.arcfile, frame.category, "SCIENCE frame: MCALIB mode makes master calibrations only")
                            for frame in by_category.get(rule.raw_type, [])]
            continue
        for group in organise(by_category.get(rule.raw_type, []), rule):
            block = _block(group, rule, context)
            blocks.append(block)
            if mode is not ProcessingMode.IDP and block.completeness is Completeness.COMPLETE:
                context.offer_products(block, group[0], rule)
    if mode is ProcessingMode.COMPLETE:
        blocks = _needed_by_science(blocks)
    return Associated(blocks, skipped)


# --- organisation ----------------------------------------------------------------------------


def organise(frames: Sequence[ClassifiedFrame], rule: RawTypeRule) -> list[list[ClassifiedFrame]]:
    """Groups of frames sharing the rule's `group_by` values, split to at most maxRet, in time order."""
    groups: dict[tuple[str, ...], list[ClassifiedFrame]] = defaultdict(list)
    for frame in sorted(frames, key=_time_order):
        groups[tuple(keyword_text(frame.header.get(key)) for key in rule.group_by)].append(frame)
    split = [part for members in groups.values() for part in _balanced_parts(members, rule.max_ret)]
    return sorted(split, key=lambda group: _time_order(group[0]))


def _balanced_parts(members: list[ClassifiedFrame], max_files: int) -> Iterator[list[ClassifiedFrame]]:
    parts = math.ceil(len(members) / max_files)
    size, larger = divmod(len(members), parts)
    start = 0
    for index in range(parts):
        end = start + size + (1 if index < larger else 0)
        yield members[start:end]
        start = end


def _by_raw_type(frames: Sequence[ClassifiedFrame], rule_set: RuleSet) -> tuple[dict[str, list[ClassifiedFrame]], list[Skipped]]:
    by_category: dict[str, list[ClassifiedFrame]] = defaultdict(list)
    skipped: list[Skipped] = []
    for frame in frames:
        if not frame.is_classified:
            skipped.append(Skipped(frame.arcfile, frame.category, frame.reason))
        elif rule_set.rule_for(frame.category) is None:
            skipped.append(Skipped(frame.arcfile, frame.category, f"no association rule for {frame.category}"))
        else:
            by_category[frame.category].append(frame)
    return by_category, skipped


def _mode_wants(mode: ProcessingMode, rule: RawTypeRule) -> bool:
    if mode is ProcessingMode.IDP:
        return rule.dpr_catg == "SCIENCE"
    if mode is ProcessingMode.MCALIB:
        return rule.dpr_catg == "CALIB"
    return True


def _needed_by_science(blocks: list[AssociationBlock]) -> list[AssociationBlock]:
    by_id = {block.ab_id: block for block in blocks}
    needed: set[str] = set()
    stack = [block.ab_id for block in blocks if block.dpr_catg == "SCIENCE"]
    while stack:
        ab_id = stack.pop()
        if ab_id not in needed:
            needed.add(ab_id)
            stack.extend(by_id[ab_id].depends_on)
    return [block for block in blocks if block.ab_id in needed]


# --- the AB ----------------------------------------------------------------------------------


@dataclass
class _Context:
    rules: AssociationRules
    rule_set: RuleSet
    mode: ProcessingMode
    candidates: dict[str, _Candidates] = field(default_factory=dict)
    _differing: dict[tuple[str, str, tuple[Any, ...]], frozenset[str]] = field(default_factory=dict)

    def differing_keys(self, keys: tuple[str, ...], header: Mapping[str, Any], candidate: Candidate) -> frozenset[str]:
        """Match keys whose values differ; remembered, as a pool has few distinct settings and many ABs."""
        raw_values = tuple(header.get(key) for key in keys)
        memo = (candidate.file, ",".join(keys), raw_values)
        if memo not in self._differing:
            self._differing[memo] = frozenset(
                key for key, value in zip(keys, raw_values) if not same_value(value, candidate.setting.get(key))
            )
        return self._differing[memo]

    def offer_products(self, block: AssociationBlock, first: ClassifiedFrame, rule: RawTypeRule) -> None:
        for product in rule.products:
            pending = Candidate(pending_file(block.ab_id, product), product, block.mjd_obs, first.header, block.ab_id)
            self.candidates.setdefault(product, _Candidates()).add(pending)

    def source_rank(self, candidate: Candidate) -> int:
        """0 for the preferred source: the pool's products in MCALIB mode, the store's otherwise."""
        prefers_pending = self.mode is ProcessingMode.MCALIB
        return 0 if candidate.is_pending == prefers_pending else 1


@dataclass
class _Candidates:
    """The candidates of one PRO.CATG, kept in time order so a window is a slice, not a scan."""

    dated: list[Candidate] = field(default_factory=list)
    undated: list[Candidate] = field(default_factory=list)

    def add(self, candidate: Candidate) -> None:
        if candidate.mjd_obs is None:
            self.undated.append(candidate)
        else:
            bisect.insort(self.dated, candidate, key=_candidate_time)

    def all(self) -> list[Candidate]:
        return [*self.dated, *self.undated]

    def around(self, low_mjd: float, high_mjd: float) -> tuple[list[Candidate], int]:
        """Candidates in [low, high] plus the nearest one outside on each side, and how many others."""
        start = bisect.bisect_left(self.dated, low_mjd, key=lambda c: c.mjd_obs)
        end = bisect.bisect_right(self.dated, high_mjd, key=lambda c: c.mjd_obs)
        first, last = max(start - 1, 0), min(end + 1, len(self.dated))
        return [*self.dated[first:last], *self.undated], len(self.dated) - (last - first)


def _candidate_time(candidate: Candidate) -> tuple[float, str]:
    return candidate.mjd_obs or 0.0, candidate.file


def _certified_candidates(catalogue: Iterable[CalibrationRecord]) -> dict[str, _Candidates]:
    candidates: dict[str, _Candidates] = {}
    for record in catalogue:
        if record.status == CURRENT:
            candidates.setdefault(record.pro_catg, _Candidates()).add(Candidate.certified(record))
    return candidates


def _block(group: list[ClassifiedFrame], rule: RawTypeRule, context: _Context) -> AssociationBlock:
    first = group[0]
    mjd_obs_mod = _mjd_obs(first) + _exptime(first) / 2.0 / SECONDS_PER_DAY
    associations: list[Association] = []
    problems: list[str] = []
    producers: set[str] = set()
    if len(group) < rule.min_ret:
        problems.append(f"{len(group)} {rule.raw_type} file(s), the rules ask at least {rule.min_ret}")
    for calibration in rule.calibrations:
        choice = _choose(calibration, first.header, mjd_obs_mod, context)
        associations.extend(choice.associations)
        producers.update(choice.producers)
        if choice.problem:
            problems.append(choice.problem)
    night = first.night
    ab_id = block_id(context.rules.instrument_mode, night.isoformat(), context.rule_set.version, group, rule)
    return AssociationBlock(
        ab_id=ab_id,
        ab_name=f"{_stem(first.arcfile)}_{rule.group_tag}.ab",
        instrument=context.rules.instrument,
        instrument_mode=context.rules.instrument_mode,
        night=night,
        mode=ProcessingMode.IDP if rule.dpr_catg == "SCIENCE" else ProcessingMode.MCALIB,
        dpr_catg=rule.dpr_catg,
        raw_type=rule.raw_type,
        recipe=rule.recipe,
        ab_event=", ".join(rule.group_by),
        completeness=Completeness.INCOMPLETE if problems else Completeness.COMPLETE,
        incomplete_reason="; ".join(problems),
        obs_prog_id=str(first.header.get("OBS.PROG.ID") or ""),
        obs_id=_obs_id(first.header.get("OBS.ID")),
        mjd_obs=_mjd_obs(first),
        mjd_obs_mod=round(mjd_obs_mod, 8),
        raw_match_key=_raw_match_key(first, rule, context.rule_set),
        prod_root_name=f"r.{_stem(first.arcfile)}",
        raw_files=[_raw_frame(frame) for frame in group],
        calibrations=associations,
        depends_on=sorted(producers),
    )


def block_id(instrument_mode: str, night: str, rule_set_version: str, group: Sequence[ClassifiedFrame],
             rule: RawTypeRule) -> str:
    """Same mode, night, rule set and input files → same id, whatever the order of the inputs."""
    material = "\n".join([instrument_mode, night, rule_set_version, *sorted(frame.arcfile for frame in group)])
    digest = hashlib.sha256(material.encode()).hexdigest()[:12]
    return f"{instrument_mode}.{night}.{rule.raw_type}.{digest}"


def _raw_frame(frame: ClassifiedFrame) -> RawFrame:
    return RawFrame(arcfile=frame.arcfile, category=frame.category, mjd_obs=_mjd_obs(frame),
                    exposure_seconds=_exptime(frame))


def _raw_match_key(first: ClassifiedFrame, rule: RawTypeRule, rule_set: RuleSet) -> dict[str, str]:
    """The keys used to match calibrations, then the AB's own setting (its grouping keys but the
    template's start): an AB that matches no keyed calibration (a format check needs only the
    static line list) still says its binning, which QC thresholds per binning select on."""
    matched = (key for calibration in rule.calibrations for key in rule_set.match_keys(calibration))
    setting = (key for key in rule.group_by if not key.startswith("TPL."))
    return {key: keyword_text(first.header.get(key)) for key in dict.fromkeys([*matched, *setting])}


# --- choosing a calibration ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Graded:
    candidate: Candidate
    level: int | None
    delta_days: float
    refusal: str = ""


@dataclass(frozen=True, slots=True)
class _Choice:
    associations: list[Association]
    producers: list[str]
    problem: str = ""


def _choose(calibration: CalibrationRule, header: Mapping[str, Any], mjd_obs_mod: float, context: _Context) -> _Choice:
    candidates, farther = _worth_grading(calibration, mjd_obs_mod, context)
    graded = [_grade(candidate, calibration, header, mjd_obs_mod, context) for candidate in candidates]
    eligible = sorted(
        (g for g in graded if g.level is not None),
        key=lambda g: (g.level, context.source_rank(g.candidate), abs(g.delta_days), g.candidate.file),
    )
    refused = sorted((g for g in graded if g.level is None), key=lambda g: (abs(g.delta_days), g.candidate.file))
    chosen, losers = eligible[: calibration.max_ret], eligible[calibration.max_ret :]
    considered = _considered(chosen[0] if chosen else None, losers, refused, context)
    if farther:
        considered.append(f"… and {farther} more {calibration.pro_catg} farther outside the level-3 window")
    associations = [_association(g, calibration, considered) for g in chosen]
    producers = [g.candidate.producer for g in chosen if g.candidate.producer]
    problem = ""
    if len(chosen) < calibration.min_ret:
        problem = _missing_reason(calibration, candidates, considered, context)
    return _Choice(associations, producers, problem)


def _worth_grading(calibration: CalibrationRule, mjd_obs_mod: float, context: _Context) -> tuple[list[Candidate], int]:
    """Candidates that could be eligible (plus the nearest refused ones), and how many are left out."""
    pool = context.candidates.get(calibration.pro_catg)
    if pool is None:
        return [], 0
    if calibration.validity_days is None:
        return pool.all(), 0
    widest = max([1.0, *(level.window_factor for level in context.rule_set.levels)])
    before, after = calibration.validity_days
    return pool.around(mjd_obs_mod + before * widest, mjd_obs_mod + after * widest)


def _grade(candidate: Candidate, calibration: CalibrationRule, header: Mapping[str, Any], mjd_obs_mod: float,
           context: _Context) -> _Graded:
    delta = 0.0 if candidate.mjd_obs is None else round(candidate.mjd_obs - mjd_obs_mod, _DAYS_DECIMALS)
    if calibration.is_static:
        return _Graded(candidate, 0, delta)
    if candidate.mjd_obs is None:
        return _Graded(candidate, None, delta, "has no MJD-OBS")
    assert calibration.validity_days is not None
    rule_set = context.rule_set
    differing = context.differing_keys(rule_set.match_keys(calibration), header, candidate)
    before, after = calibration.validity_days
    for level, factor, relax_keys in _levels(rule_set):
        tolerated = set(calibration.relaxable) if relax_keys else set()
        if differing <= tolerated and before * factor <= delta <= after * factor:
            return _Graded(candidate, level, delta)
    return _Graded(candidate, None, delta, _refusal(candidate, calibration, header, differing, delta, rule_set))


def _levels(rule_set: RuleSet) -> Iterator[tuple[int, float, bool]]:
    yield 0, 1.0, False
    for level in rule_set.levels:
        yield level.level, level.window_factor, level.relax_keys


def _refusal(candidate: Candidate, calibration: CalibrationRule, header: Mapping[str, Any], differing: frozenset[str],
             delta: float, rule_set: RuleSet) -> str:
    relaxable = set(calibration.relaxable) if any(level.relax_keys for level in rule_set.levels) else set()
    hard = [key for key in rule_set.match_keys(calibration) if key in differing and key not in relaxable]
    if hard:
        key = hard[0]
        return f"{key} is {keyword_text(candidate.setting.get(key))}, not {keyword_text(header.get(key))}"
    assert calibration.validity_days is not None
    level, factor, _ = list(_levels(rule_set))[-1]
    before, after = calibration.validity_days
    return f"Δt {delta:+.3f} d is outside [{before * factor:+g}, {after * factor:+g}] d (level {level})"


def _considered(winner: _Graded | None, losers: list[_Graded], refused: list[_Graded], context: _Context) -> list[str]:
    lines = [f"{g.candidate.file}: {_lost_because(g, winner, context)}" for g in losers if winner]
    lines += [f"{g.candidate.file}: {g.refusal}" for g in refused]
    if len(lines) > MAX_CONSIDERED:
        lines = lines[:MAX_CONSIDERED] + [f"… and {len(lines) - MAX_CONSIDERED} more candidates"]
    return lines


def _lost_because(loser: _Graded, winner: _Graded, context: _Context) -> str:
    if loser.level != winner.level:
        return f"level {loser.level}, the chosen one is level {winner.level}"
    if context.source_rank(loser.candidate) != context.source_rank(winner.candidate):
        preferred = "products of this pool" if winner.candidate.is_pending else "certified calibrations"
        return f"{preferred} are preferred in {context.mode.value} mode"
    if abs(loser.delta_days) != abs(winner.delta_days):
        return f"Δt {loser.delta_days:+.3f} d is farther"
    return "same Δt, the chosen name sorts first"


def _association(graded: _Graded, calibration: CalibrationRule, considered: list[str]) -> Association:
    assert graded.level is not None
    if graded.candidate.is_pending:
        evaluation = PENDING
    else:
        evaluation = OK if graded.level == 0 else NOK
    return Association(
        evaluation=evaluation,
        role=calibration.role,
        file=graded.candidate.file,
        pro_catg=calibration.pro_catg,
        delta_days=graded.delta_days,
        level=graded.level,
        considered=considered,
    )


def _missing_reason(calibration: CalibrationRule, candidates: list[Candidate], considered: list[str],
                    context: _Context) -> str:
    where = "the calibration store" if context.mode is ProcessingMode.IDP else "the calibration store or this pool"
    if not candidates:
        return f"no {calibration.pro_catg} in {where}"
    return f"no usable {calibration.pro_catg} in {where} ({'; '.join(considered[:3])})"


# --- releasing waiting ABs -------------------------------------------------------------------


def awaited_producers(block: AssociationBlock) -> list[str]:
    """ab_ids whose products the AB still waits for."""
    return sorted({split_pending_file(a.file)[0] for a in block.calibrations if a.evaluation == PENDING})


def is_ready(block: AssociationBlock) -> bool:
    """COMPLETE and waiting for nothing: it can be staged."""
    return block.completeness is Completeness.COMPLETE and not awaited_producers(block)


def resolve_pending(
    block: AssociationBlock,
    certified: Mapping[str, Iterable[CalibrationRecord]],
    rejected: Collection[str] = (),
) -> AssociationBlock:
    """Fill PENDING associations with the certified products of their producer ABs.

    `certified` maps a producer ab_id to the calibrations it made that are now certified and
    in the store; `rejected` holds producer ab_ids that will never deliver (rejected, failed,
    incomplete). Associations whose producer is in neither stay PENDING. Δt is recomputed from
    the certified product's MJD-OBS; the level chosen at association time is kept.
    """
    for producer in awaited_producers(block):
        if producer in rejected:
            return _incomplete(block, f"prerequisite {producer} was rejected")
    resolved: list[Association] = []
    for association in block.calibrations:
        if association.evaluation != PENDING:
            resolved.append(association)
            continue
        producer, pro_catg = split_pending_file(association.file)
        if producer not in certified:
            resolved.append(association)
            continue
        product = next((p for p in certified[producer] if p.pro_catg == pro_catg), None)
        if product is None:
            return _incomplete(block, f"prerequisite {producer} delivered no certified {pro_catg}")
        resolved.append(_filled(association, product, block.mjd_obs_mod))
    return block.model_copy(update={"calibrations": resolved})


def _filled(association: Association, product: CalibrationRecord, mjd_obs_mod: float) -> Association:
    delta = association.delta_days if product.mjd_obs is None else round(product.mjd_obs - mjd_obs_mod, _DAYS_DECIMALS)
    return association.model_copy(
        update={"file": product.filename, "delta_days": delta, "evaluation": OK if association.level == 0 else NOK}
    )


def _incomplete(block: AssociationBlock, reason: str) -> AssociationBlock:
    return block.model_copy(update={"completeness": Completeness.INCOMPLETE, "incomplete_reason": reason})


@dataclass(frozen=True, slots=True)
class Release:
    ready: list[AssociationBlock]
    waiting: list[AssociationBlock]
    incomplete: list[AssociationBlock]


def release(
    waiting: Iterable[AssociationBlock],
    certified: Mapping[str, Iterable[CalibrationRecord]],
    rejected: Collection[str] = (),
) -> Release:
    """Sort waiting ABs into ready to stage, still waiting, and INCOMPLETE for good.

    A dependant of an AB that turns INCOMPLETE here is itself released as INCOMPLETE in the
    same call (cascades), because the ABs are visited in the order given (dependency order).
    """
    ready: list[AssociationBlock] = []
    still: list[AssociationBlock] = []
    incomplete: list[AssociationBlock] = []
    dead = set(rejected)
    for block in waiting:
        resolved = resolve_pending(block, certified, dead)
        if resolved.completeness is Completeness.INCOMPLETE:
            incomplete.append(resolved)
            dead.add(resolved.ab_id)
        elif is_ready(resolved):
            ready.append(resolved)
        else:
            still.append(resolved)
    return Release(ready, still, incomplete)


# --- keyword values --------------------------------------------------------------------------


def same_value(raw: Any, calibration: Any) -> bool:
    """Header values equal as OCA compares them: numbers numerically (390 == 390.0), text exactly."""
    if raw is None or calibration is None:
        return False
    if _is_number(raw) and _is_number(calibration):
        return math.isclose(float(raw), float(calibration), rel_tol=0.0, abs_tol=1e-6)
    return str(raw).strip() == str(calibration).strip()


def keyword_text(value: Any) -> str:
    if value is None:
        return "(missing)"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _time_order(frame: ClassifiedFrame) -> tuple[float, str]:
    return _mjd_obs(frame), frame.arcfile


def _mjd_obs(frame: ClassifiedFrame) -> float:
    return float(frame.header["MJD-OBS"])


def _exptime(frame: ClassifiedFrame) -> float:
    value = frame.header.get("EXPTIME")
    return float(value) if _is_number(value) else 0.0


def _obs_id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _stem(arcfile: str) -> str:
    return arcfile.removesuffix(".fits")
