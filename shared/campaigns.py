"""Campaigns, their progress night by night, and the ledger's requests: what `phoenix status`,
`phoenix campaign`, `phoenix reconcile` and the ingestor's campaign gauge read from the archive
database.

Pure reads on SQLAlchemy Core (`shared.archive.tables`): synchronous functions of a
`Connection`, so `phoenix status` runs them without loading the ORM or asyncio; a service runs
them in its session's transaction through `shared.archive.database.read`.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Row, func, select
from sqlalchemy.engine import Connection

from shared.archive.tables import ab_history, association_blocks, campaigns, requests
from shared.archive.types import utc_now
from shared.errors import ConfigError, DataError
from shared.lifecycle import (
    FINISHED_REQUEST,
    AbState,
    NightState,
    RequestState,
    is_final,
    night_state,
    request_finished,
)
from shared.modes import ProcessingMode

T = TypeVar("T")
METRIC_CAMPAIGNS = 20
"""At most this many campaigns (the newest) get `phoenix_campaign_nights` series."""
_CHUNK = 500


def nights_between(first: date, last: date) -> list[date]:
    if last < first:
        raise ConfigError(f"--to {last} is before --from {first}")
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def rules_version(instrument_mode: str, night: date) -> str:
    """Version of the association rule set valid on `night`, as the fetcher records it on a request."""
    from shared.instruments.association import load_association_rules

    try:
        return load_association_rules(instrument_mode).rule_set_for(night).version
    except DataError as error:
        raise ConfigError(str(error)) from None


@dataclass
class NightProgress:
    """One night as the ledger knows it: its latest request and the ABs made of its frames."""

    night: date
    request: Row[Any] | None = None
    """The latest request (a row of `requests`)."""
    abs: list[Row[Any]] = field(default_factory=list)
    """Rows of `association_blocks`."""

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


def night_progress(
    connection: Connection, instrument_mode: str, nights: Sequence[date], campaign_id: str | None = None
) -> list[NightProgress]:
    """Each night's latest request (the campaign's own if it has one) and the night's ABs."""
    if not nights:
        return []
    first, last = min(nights), max(nights)
    covering = connection.execute(
        select(requests)
        .where(requests.c.instrument_mode == instrument_mode, requests.c.night <= last,
               func.coalesce(requests.c.night_to, requests.c.night) >= first)
        .order_by(requests.c.created_at)
    ).all()
    latest: dict[date, Row[Any]] = {}
    own: dict[date, Row[Any]] = {}
    for request in covering:
        for night in nights_between(request.night, request.night_to or request.night):
            latest[night] = request
            if campaign_id is not None and request.campaign_id == campaign_id:
                own[night] = request
    records = connection.execute(
        select(association_blocks)
        .where(association_blocks.c.instrument_mode == instrument_mode, association_blocks.c.night >= first,
               association_blocks.c.night <= last)
        .order_by(association_blocks.c.ab_id)
    ).all()
    by_night: dict[date, list[Row[Any]]] = {}
    for record in records:
        by_night.setdefault(record.night, []).append(record)
    return [NightProgress(night, own.get(night) or latest.get(night), by_night.get(night, [])) for night in nights]


def campaign_progress(connection: Connection, campaign: Row[Any]) -> list[NightProgress]:
    nights = nights_between(campaign.night_from, campaign.night_to)
    return night_progress(connection, campaign.instrument_mode, nights, campaign.campaign_id)


def campaign_named(connection: Connection, campaign_id: str) -> Row[Any] | None:
    return connection.execute(select(campaigns).where(campaigns.c.campaign_id == campaign_id)).first()


def recent_campaigns(connection: Connection, limit: int | None = None) -> list[Row[Any]]:
    """Campaigns, newest first."""
    statement = select(campaigns).order_by(campaigns.c.created_at.desc(), campaigns.c.campaign_id)
    if limit is not None:
        statement = statement.limit(limit)
    return list(connection.execute(statement).all())


@dataclass(frozen=True)
class Throughput:
    abs_per_minute: float | None
    remaining_abs: float
    eta_seconds: float | None


def throughput(connection: Connection, campaign: Row[Any], progress: Sequence[NightProgress],
               now: datetime | None = None) -> Throughput:
    """ABs finished per minute since the campaign's first recorded transition, and the time the
    rest needs at that rate. Nights not fetched yet count as many ABs as the fetched nights' mean."""
    now = now or utc_now()
    finished_at = _finished_times(connection, [r.ab_id for p in progress for r in p.abs], campaign.created_at)
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


def _finished_times(connection: Connection, ab_ids: list[str], since: datetime) -> _Finished:
    """First transition (at or after `since`) of these ABs, and how many reached a final state since."""
    started: datetime | None = None
    last_final: dict[str, datetime] = {}
    for chunk in _chunks(ab_ids):
        rows = connection.execute(
            select(ab_history.c.ab_id, ab_history.c.state, ab_history.c.at)
            .where(ab_history.c.ab_id.in_(chunk), ab_history.c.at >= since)
        )
        for ab_id, state, at in rows:
            started = at if started is None or at < started else started
            if is_final(state):
                last_final[ab_id] = max(at, last_final.get(ab_id, at))
    return _Finished(started or since, len(last_final))


def _chunks(items: list[T]) -> Iterable[list[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def campaign_night_counts(connection: Connection, limit: int = METRIC_CAMPAIGNS) -> dict[str, Counter[str]]:
    """Nights per state of the newest `limit` campaigns: the `phoenix_campaign_nights` gauge."""
    counts = {}
    for campaign in recent_campaigns(connection, limit):
        progress = campaign_progress(connection, campaign)
        counts[campaign.campaign_id] = Counter({state.value: 0 for state in NightState})
        counts[campaign.campaign_id].update(p.state.value for p in progress)
    return counts


# --- requests --------------------------------------------------------------------------------


def unfinished_requests(connection: Connection) -> list[Row[Any]]:
    """Requests not finished (neither DONE nor FAILED), oldest first: what reconciliation looks at."""
    statement = select(requests).where(requests.c.state.not_in(FINISHED_REQUEST)).order_by(requests.c.created_at)
    return list(connection.execute(statement).all())


def finished_requests(connection: Connection, limit: int) -> list[Row[Any]]:
    """The `limit` requests that finished (DONE or FAILED) most recently, newest first."""
    statement = (
        select(requests).where(requests.c.state.in_(FINISHED_REQUEST))
        .order_by(requests.c.updated_at.desc(), requests.c.created_at.desc()).limit(limit)
    )
    return list(connection.execute(statement).all())


def ab_states_of_requests(connection: Connection, request_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Counter[str]]:
    """How many ABs each request owns, per state (a request without ABs is left out)."""
    counts: dict[uuid.UUID, Counter[str]] = {}
    for chunk in _chunks(list(request_ids)):
        rows = connection.execute(
            select(association_blocks.c.request_id, association_blocks.c.state, func.count())
            .where(association_blocks.c.request_id.in_(chunk))
            .group_by(association_blocks.c.request_id, association_blocks.c.state)
        )
        for request_id, state, count in rows:
            counts.setdefault(request_id, Counter())[state.value] = count
    return counts
