"""Campaigns, their progress night by night, and stalled work: what `phoenix campaign`,
`phoenix status` and `phoenix reconcile` read from the archive database's ledger.

Pure reads and decisions; publishing is the commands' business.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.archive import ledger
from shared.archive.models import AbRecord, AbState, AbTransition, Campaign, Request, RequestState
from shared.archive.types import utc_now
from shared.errors import ConfigError, DataError
from shared.instruments.association import load_association_rules
from shared.lifecycle import IN_FLIGHT, NightState, is_final, night_state, request_finished
from shared.modes import ProcessingMode

METRIC_CAMPAIGNS = 20
"""At most this many campaigns (the newest) get `phoenix_campaign_nights` series."""
_CHUNK = 500


def nights_between(first: date, last: date) -> list[date]:
    if last < first:
        raise ConfigError(f"--to {last} is before --from {first}")
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def rules_version(instrument_mode: str, night: date) -> str:
    """Version of the association rule set valid on `night`, as the fetcher records it on a request."""
    try:
        return load_association_rules(instrument_mode).rule_set_for(night).version
    except DataError as error:
        raise ConfigError(str(error)) from None


@dataclass
class NightProgress:
    """One night as the ledger knows it: its latest request and the ABs made of its frames."""

    night: date
    request: Request | None = None
    abs: list[AbRecord] = field(default_factory=list)

    @property
    def ab_states(self) -> Counter[str]:
        return Counter(record.state.value for record in self.abs)

    @property
    def final(self) -> int:
        return sum(1 for record in self.abs if is_final(record.state))

    @property
    def failed(self) -> int:
        return sum(1 for record in self.abs if record.state is AbState.FAILED)

    @property
    def finished(self) -> bool:
        return self.request is not None and request_finished(self.request.state, [r.state for r in self.abs])

    @property
    def state(self) -> NightState:
        return night_state(self.request.state if self.request else None, [r.state for r in self.abs])

    def as_dict(self) -> dict[str, object]:
        return {
            "night": self.night.isoformat(),
            "state": self.state.value,
            "request_id": str(self.request.request_id) if self.request else None,
            "request_state": self.request.state.value if self.request else None,
            "request_reason": self.request.reason if self.request else "",
            "abs": len(self.abs),
            "abs_final": self.final,
            "abs_failed": self.failed,
            "ab_states": dict(sorted(self.ab_states.items())),
        }


def skip_reason(
    progress: NightProgress, mode: ProcessingMode, rules: str, pipeline: str
) -> str | None:
    """Why the night need not be requested again (None: request it).

    Skipped when its latest request has been fetched, every AB of the night is final, the
    request covered `mode` (COMPLETE covers both) and it ran with these rules and this pipeline.
    """
    request = progress.request
    if request is None or not progress.finished or request.state is RequestState.FAILED:
        return None
    if request.mode not in (mode.value, ProcessingMode.COMPLETE.value):
        return None
    if request.rules_version != rules or request.pipeline_version != pipeline:
        return None
    failed = f", {progress.failed} FAILED" if progress.failed else ""
    return (f"done by request {request.request_id} ({len(progress.abs)} AB(s) final{failed}; "
            f"rules {rules}, pipeline {pipeline})")


async def night_progress(
    session: AsyncSession, instrument_mode: str, nights: Sequence[date], campaign_id: str | None = None
) -> list[NightProgress]:
    """Each night's latest request (the campaign's own if it has one) and the night's ABs."""
    if not nights:
        return []
    first, last = min(nights), max(nights)
    requests = (await session.scalars(
        select(Request)
        .where(Request.instrument_mode == instrument_mode, Request.night <= last,
               func.coalesce(Request.night_to, Request.night) >= first)
        .order_by(Request.created_at)
    )).all()
    latest: dict[date, Request] = {}
    own: dict[date, Request] = {}
    for request in requests:
        for night in nights_between(request.night, request.night_to or request.night):
            latest[night] = request
            if campaign_id is not None and request.campaign_id == campaign_id:
                own[night] = request
    records = (await session.scalars(
        select(AbRecord)
        .where(AbRecord.instrument_mode == instrument_mode, AbRecord.night >= first, AbRecord.night <= last)
        .order_by(AbRecord.ab_id)
    )).all()
    by_night: dict[date, list[AbRecord]] = {}
    for record in records:
        by_night.setdefault(record.night, []).append(record)
    return [NightProgress(night, own.get(night) or latest.get(night), by_night.get(night, [])) for night in nights]


async def campaign_progress(session: AsyncSession, campaign: Campaign) -> list[NightProgress]:
    nights = nights_between(campaign.night_from, campaign.night_to)
    return await night_progress(session, campaign.instrument_mode, nights, campaign.campaign_id)


async def recent_campaigns(session: AsyncSession, limit: int | None = None) -> list[Campaign]:
    """Campaigns, newest first."""
    statement = select(Campaign).order_by(Campaign.created_at.desc(), Campaign.campaign_id)
    if limit is not None:
        statement = statement.limit(limit)
    return list((await session.scalars(statement)).all())


@dataclass(frozen=True)
class Throughput:
    abs_per_minute: float | None
    remaining_abs: float
    eta_seconds: float | None


async def throughput(session: AsyncSession, campaign: Campaign, progress: Sequence[NightProgress],
                     now: datetime | None = None) -> Throughput:
    """ABs finished per minute since the campaign's first recorded transition, and the time the
    rest needs at that rate. Nights not fetched yet count as many ABs as the fetched nights' mean."""
    now = now or utc_now()
    finished_at = await _finished_times(session, [r.ab_id for p in progress for r in p.abs], campaign.created_at)
    known = [p for p in progress if p.request is not None and p.request.state is not RequestState.RECEIVED]
    mean_abs = sum(len(p.abs) for p in known) / len(known) if known else 0.0
    remaining = float(sum(len(p.abs) - p.final for p in progress if p.state is not NightState.PENDING))
    remaining += mean_abs * sum(1 for p in progress if p.state is NightState.PENDING)
    if not finished_at.finished:
        return Throughput(None, remaining, None)
    minutes = max((now - finished_at.started).total_seconds() / 60, 1 / 60)
    rate = finished_at.finished / minutes
    return Throughput(rate, remaining, remaining / rate * 60)


@dataclass(frozen=True)
class _Finished:
    started: datetime
    finished: int


async def _finished_times(session: AsyncSession, ab_ids: list[str], since: datetime) -> _Finished:
    """First transition (at or after `since`) of these ABs, and how many reached a final state since."""
    started: datetime | None = None
    last_final: dict[str, datetime] = {}
    for chunk in _chunks(ab_ids):
        rows = await session.execute(
            select(AbTransition.ab_id, AbTransition.state, AbTransition.at)
            .where(AbTransition.ab_id.in_(chunk), AbTransition.at >= since)
        )
        for ab_id, state, at in rows:
            started = at if started is None or at < started else started
            if is_final(state):
                last_final[ab_id] = max(at, last_final.get(ab_id, at))
    return _Finished(started or since, len(last_final))


def _chunks(items: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


async def campaign_night_counts(session: AsyncSession, limit: int = METRIC_CAMPAIGNS) -> dict[str, Counter[str]]:
    """Nights per state of the newest `limit` campaigns: the `phoenix_campaign_nights` gauge."""
    counts = {}
    for campaign in await recent_campaigns(session, limit):
        progress = await campaign_progress(session, campaign)
        counts[campaign.campaign_id] = Counter({state.value: 0 for state in NightState})
        counts[campaign.campaign_id].update(p.state.value for p in progress)
    return counts


# --- stalled work (phoenix reconcile) ---------------------------------------------------------


async def stalled_requests(session: AsyncSession, older_than: datetime) -> list[Request]:
    """Requests the fetcher never finished (RECEIVED) with no change since `older_than`."""
    return [r for r in await ledger.unfinished_requests(session)
            if r.state is RequestState.RECEIVED and r.updated_at < older_than]


async def unrequested_nights(session: AsyncSession, older_than: datetime) -> list[tuple[Campaign, date]]:
    """Nights of campaigns created before `older_than` for which no request reached the ledger."""
    missing = []
    for campaign in await recent_campaigns(session):
        if campaign.created_at >= older_than:
            continue
        missing += [(campaign, p.night) for p in await campaign_progress(session, campaign) if p.request is None]
    return missing


async def stalled_abs(session: AsyncSession, older_than: datetime) -> list[AbRecord]:
    """ABs on their way through the chain (STAGED … CERTIFIED) with no change since `older_than`."""
    statement = (
        select(AbRecord)
        .where(AbRecord.state.in_(IN_FLIGHT), AbRecord.updated_at < older_than)
        .order_by(AbRecord.updated_at, AbRecord.ab_id)
    )
    return list((await session.scalars(statement)).all())


async def releasable_waiting_abs(session: AsyncSession, older_than: datetime) -> list[AbRecord]:
    """WAITING ABs whose prerequisites are all final, none of them changed since `older_than`:
    the `ingested` event that should have released them was lost."""
    found = []
    for record in await ledger.waiting_abs(session):
        if not record.depends_on or record.updated_at >= older_than:
            continue
        wanted = sorted(set(record.depends_on))
        prerequisites = (await session.scalars(select(AbRecord).where(AbRecord.ab_id.in_(wanted)))).all()
        if len(prerequisites) == len(wanted) and all(
            is_final(p.state) and p.updated_at < older_than for p in prerequisites
        ):
            found.append(record)
    return found
