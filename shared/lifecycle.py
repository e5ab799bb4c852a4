"""The AB lifecycle: the one place that says which states an AB and a request have, which
transitions between them are allowed, which states are final, retryable or lost, and when a
request or a campaign night is finished.

Pure rules, no I/O: the ledger (`shared.archive.ledger`) checks every AB transition it
records against `check_transition`, and every service records its own steps through it:

    fetcher    (new) → CREATED → WAITING → STAGED            (or INCOMPLETE / FAILED)
    processor  STAGED → PROCESSED                             (successful or not)
    qc         PROCESSED → SCORED                             (successful processing only)
    certifier  SCORED → CERTIFIED; `phoenix review accept`: REVIEW → CERTIFIED
    ingestor   → INGESTED, REJECTED, REVIEW, FAILED           (the final states it publishes)

A final state is recorded only by the service that publishes the AB's `ingested` event (the
ingestor, or the fetcher for an AB it finds INCOMPLETE or cannot stage), so nothing reads an
AB as finished before its last event is out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from enum import StrEnum

from shared.errors import DataError


class RequestState(StrEnum):
    RECEIVED = "RECEIVED"
    """Entered by the fetcher; its ABs are not made yet."""
    FETCHED = "FETCHED"
    """The fetcher made the request's ABs; some are still on their way."""
    DONE = "DONE"
    """Fetched, and every AB the request owns is final (or it owns none)."""
    FAILED = "FAILED"
    """The request itself cannot be handled (e.g. an unknown instrument mode)."""


FINISHED_REQUEST: frozenset[RequestState] = frozenset({RequestState.DONE, RequestState.FAILED})
"""Nothing more happens to a request in these states."""


class AbState(StrEnum):
    CREATED = "CREATED"
    WAITING = "WAITING"
    """Waits for master calibrations that other ABs of its request make."""
    STAGED = "STAGED"
    PROCESSED = "PROCESSED"
    FAILED = "FAILED"
    SCORED = "SCORED"
    CERTIFIED = "CERTIFIED"
    REJECTED = "REJECTED"
    REVIEW = "REVIEW"
    INGESTED = "INGESTED"
    INCOMPLETE = "INCOMPLETE"


class FinalState(StrEnum):  # the final states, as the `ingested` event carries them
    INGESTED = "INGESTED"
    REJECTED = "REJECTED"
    REVIEW = "REVIEW"
    INCOMPLETE = "INCOMPLETE"
    FAILED = "FAILED"


FINAL: frozenset[AbState] = frozenset(AbState(state.value) for state in FinalState)
"""Nothing more happens to the AB unless a later request takes it up again."""
RETRYABLE: frozenset[AbState] = frozenset({AbState.FAILED, AbState.INCOMPLETE, AbState.REJECTED})
"""Final states a later request for the AB's night may take up again without asking to reprocess."""
LOST: frozenset[AbState] = RETRYABLE
"""A producer of master calibrations in one of these states never delivers them: the ABs that
wait for it end INCOMPLETE. (The same set as RETRYABLE: what did not deliver may be retried.)"""
IN_FLIGHT: frozenset[AbState] = frozenset({AbState.STAGED, AbState.PROCESSED, AbState.SCORED, AbState.CERTIFIED})
"""On the way through the chain: an AB that stays here long was lost by a crash (`phoenix reconcile`)."""
TAKEN_UP: frozenset[AbState] = frozenset(
    {AbState.CREATED, AbState.WAITING, AbState.STAGED, AbState.INCOMPLETE, AbState.FAILED}
)
"""What the fetcher records when a request takes an AB up (new, retried or reprocessed)."""

_NEXT: dict[AbState, frozenset[AbState]] = {
    AbState.CREATED: frozenset({AbState.WAITING, AbState.STAGED, AbState.INCOMPLETE, AbState.FAILED}),
    AbState.WAITING: frozenset({AbState.STAGED, AbState.INCOMPLETE, AbState.FAILED}),
    AbState.STAGED: frozenset({AbState.PROCESSED}),
    AbState.PROCESSED: frozenset({AbState.SCORED}),
    AbState.SCORED: frozenset({AbState.CERTIFIED}),
    AbState.CERTIFIED: frozenset(),
    AbState.REVIEW: frozenset({AbState.CERTIFIED}),
}
"""The steps forward, besides taking an AB up (any state → TAKEN_UP) and ending it (in flight → FINAL)."""


class TransitionRefused(DataError):
    """An AB transition the lifecycle does not allow (e.g. a late event after the AB ended)."""


def allowed(current: AbState | None, new: AbState) -> bool:
    """Whether an AB in `current` (None: not in the ledger yet) may be recorded in `new`.

    An AB not in the ledger enters it where its first recorded event found it (the fetcher
    records it first in the chain; an event published by hand starts later). Recording the
    current state again is allowed: it changes nothing but the reason and owner.
    """
    if current is None or new in TAKEN_UP:
        return True  # a request takes the AB up: new, retried (RETRYABLE) or reprocessed (any state)
    if new is current or new in _NEXT.get(current, frozenset()):
        return True
    return new in FINAL and current in IN_FLIGHT | {AbState.REVIEW}


def check_transition(ab_id: str, current: AbState | None, new: AbState) -> None:
    """Refuse a transition the lifecycle does not allow, naming the AB and both states."""
    if not allowed(current, new):
        raise TransitionRefused(f"AB {ab_id}: {current} → {new.value} is not an allowed transition")


def is_final(state: AbState) -> bool:
    return state in FINAL


def request_finished(state: RequestState | None, ab_states: Iterable[AbState]) -> bool:
    """A request is finished when it FAILED, or when the fetcher made its ABs (FETCHED or DONE) and
    every AB it owns is final — also when it owns none (a repeated request whose ABs an earlier
    request handles)."""
    if state is RequestState.FAILED:
        return True
    return state in (RequestState.FETCHED, RequestState.DONE) and all(s in FINAL for s in ab_states)


def request_summary(ab_states: Iterable[AbState]) -> str:
    """"2 INGESTED, 1 REVIEW": what a finished request's reason starts with."""
    counts = Counter(state.value for state in ab_states)
    return ", ".join(f"{count} {state}" for state, count in sorted(counts.items())) or "no AB of its own"


class NightState(StrEnum):
    """A campaign night as `phoenix campaign status` shows it."""

    PENDING = "PENDING"
    """No request yet, or the fetcher has not handled it."""
    PROCESSING = "PROCESSING"
    DONE = "DONE"
    """Fetched, and every AB final with none FAILED."""
    FAILED = "FAILED"
    """The request failed, or it is finished with FAILED ABs."""


def night_state(request_state: RequestState | None, ab_states: Iterable[AbState]) -> NightState:
    """A campaign night from its latest request and the states of the night's ABs."""
    states = list(ab_states)
    if request_state is None or request_state is RequestState.RECEIVED:
        return NightState.PENDING
    if not request_finished(request_state, states):
        return NightState.PROCESSING
    if request_state is RequestState.FAILED or AbState.FAILED in states:
        return NightState.FAILED
    return NightState.DONE
