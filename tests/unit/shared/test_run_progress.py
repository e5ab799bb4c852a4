import uuid
from types import SimpleNamespace

from shared.archive.models import AbState, RequestState
from tools.run.progress import Progress


def record(ab_id: str, state: AbState, depends_on: tuple[str, ...] = ()) -> SimpleNamespace:
    return SimpleNamespace(ab_id=ab_id, state=state, depends_on=list(depends_on), reason="")


def progress(*records: SimpleNamespace, prerequisites: dict[str, AbState] | None = None,
             request: RequestState = RequestState.FETCHED) -> Progress:
    return Progress(uuid.uuid4(), request, "", list(records), prerequisites or {})


def test_finished_when_the_request_is_fetched_and_every_ab_is_final() -> None:
    assert progress(record("a", AbState.INGESTED), record("b", AbState.INCOMPLETE)).finished
    assert not progress(record("a", AbState.INGESTED), record("b", AbState.SCORED)).finished
    assert not progress(record("a", AbState.INGESTED), request=RequestState.RECEIVED).finished
    assert progress(request=RequestState.FAILED).finished


def test_an_ab_waiting_only_for_a_prerequisite_in_review_counts_as_review() -> None:
    bias = record("bias", AbState.REVIEW)
    flat = record("flat", AbState.WAITING, depends_on=("bias", "order"))
    held = progress(bias, flat, prerequisites={"bias": AbState.REVIEW, "order": AbState.INGESTED})
    assert held.finished and held.state_of(flat) is AbState.REVIEW and held.held_for(flat) == ["bias"]
    moving = progress(bias, flat, prerequisites={"bias": AbState.REVIEW, "order": AbState.PROCESSED})
    assert not moving.finished and moving.state_of(flat) is AbState.WAITING, "another prerequisite may still deliver"
