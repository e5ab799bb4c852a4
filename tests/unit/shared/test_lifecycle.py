"""The AB lifecycle: every transition between two states, allowed or refused, and when a request
or a campaign night is finished."""

from __future__ import annotations

import pytest

from shared.errors import DataError
from shared.lifecycle import (
    FINAL,
    IN_FLIGHT,
    LOST,
    RETRYABLE,
    TAKEN_UP,
    AbState,
    FinalState,
    NightState,
    RequestState,
    TransitionRefused,
    allowed,
    check_transition,
    night_state,
    request_finished,
    request_summary,
)

S = AbState
STEPS = {
    (S.CREATED, S.WAITING), (S.CREATED, S.STAGED), (S.WAITING, S.STAGED),  # fetcher
    (S.STAGED, S.PROCESSED),  # processor
    (S.PROCESSED, S.SCORED),  # qc
    (S.SCORED, S.CERTIFIED), (S.REVIEW, S.CERTIFIED),  # certifier, phoenix review accept
}
ENDINGS = {(current, final) for current in (*IN_FLIGHT, S.REVIEW) for final in FINAL}
"""The ingestor ends an AB wherever the chain left it (a failed recipe skips SCORED)."""
TAKING_UP = {(current, new) for current in AbState for new in TAKEN_UP}
"""A request takes an AB up: new, retried, or reprocessed from any state."""
SAME = {(state, state) for state in AbState}
ALLOWED = STEPS | ENDINGS | TAKING_UP | SAME


@pytest.mark.parametrize(("current", "new"), [(c, n) for c in AbState for n in AbState])
def test_every_transition_is_allowed_or_refused_as_the_lifecycle_says(current: AbState, new: AbState) -> None:
    assert allowed(current, new) is ((current, new) in ALLOWED)
    if (current, new) in ALLOWED:
        check_transition("AB1", current, new)
    else:
        with pytest.raises(TransitionRefused, match=rf"^AB AB1: {current} → {new} is not an allowed transition$"):
            check_transition("AB1", current, new)


@pytest.mark.parametrize("new", list(AbState))
def test_an_ab_enters_the_ledger_at_any_state(new: AbState) -> None:
    check_transition("AB1", None, new)


def test_a_late_event_after_the_end_is_refused_as_bad_input() -> None:
    for final in FINAL:
        for later in (S.PROCESSED, S.SCORED, S.CERTIFIED):
            if (final, later) not in ALLOWED:
                with pytest.raises(DataError):
                    check_transition("AB1", final, later)
    assert not allowed(S.INGESTED, S.SCORED) and not allowed(S.SCORED, S.PROCESSED)
    assert not allowed(S.WAITING, S.PROCESSED) and not allowed(S.CREATED, S.INGESTED)


def test_the_state_sets() -> None:
    assert FINAL == {S(state.value) for state in FinalState} == {
        S.INGESTED, S.REJECTED, S.REVIEW, S.INCOMPLETE, S.FAILED}
    assert RETRYABLE == LOST == {S.FAILED, S.INCOMPLETE, S.REJECTED} and RETRYABLE < FINAL
    assert not IN_FLIGHT & FINAL and S.WAITING not in IN_FLIGHT


@pytest.mark.parametrize(
    ("request_state", "abs_", "finished"),
    [
        (None, [], False),
        (RequestState.RECEIVED, [], False),
        (RequestState.FAILED, [], True),
        (RequestState.FETCHED, [S.INGESTED, S.REVIEW], True),
        (RequestState.FETCHED, [S.INGESTED, S.STAGED], False),
        (RequestState.FETCHED, [S.WAITING], False),
        (RequestState.FETCHED, [], True),  # a repeated request whose ABs an earlier one handles
        (RequestState.DONE, [S.INCOMPLETE], True),
    ],
)
def test_when_a_request_is_finished(request_state, abs_, finished) -> None:
    assert request_finished(request_state, abs_) is finished


def test_a_finished_request_is_summarised_by_state() -> None:
    assert request_summary([S.INGESTED, S.REVIEW, S.INGESTED]) == "2 INGESTED, 1 REVIEW"
    assert request_summary([]) == "no AB of its own"


@pytest.mark.parametrize(
    ("request_state", "abs_", "night"),
    [
        (None, [], NightState.PENDING),
        (RequestState.RECEIVED, [], NightState.PENDING),
        (RequestState.FETCHED, [S.PROCESSED], NightState.PROCESSING),
        (RequestState.FETCHED, [S.INGESTED, S.REJECTED], NightState.DONE),
        (RequestState.DONE, [S.INGESTED, S.FAILED], NightState.FAILED),
        (RequestState.FAILED, [], NightState.FAILED),
    ],
)
def test_when_a_campaign_night_is_finished(request_state, abs_, night) -> None:
    assert night_state(request_state, abs_) is night
