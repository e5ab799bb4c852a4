import uuid
from datetime import date

import pytest
from pydantic import ValidationError

from shared.contracts import TOPICS, DataStaged, DateRequested, Event
from tests.support.bus import request
from tests.support.specs import staged_for


def test_topics_are_the_six_of_the_design_in_order() -> None:
    assert list(TOPICS) == ["date-requested", "data-staged", "products-ready", "qc-scored", "certified", "ingested"]


def test_every_field_has_a_description_and_an_example() -> None:
    def check(model: type) -> None:
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"
            annotation = info.annotation
            nested = [a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type)]
            if not any(hasattr(a, "model_fields") for a in nested) and "list[" not in str(annotation):
                assert info.examples, f"{model.__name__}.{name} has no example"
            for inner in nested:
                if hasattr(inner, "model_fields") and inner is not model:
                    check(inner)

    for model in TOPICS.values():
        check(model)


def test_partition_keys() -> None:
    event = request(night="2015-02-23")
    assert event.partition_key == "UVES_ECHELLE:2015-02-23"
    staged = staged_for(event)
    assert staged.partition_key == staged.ab.ab_id


def test_night_range_must_be_ordered() -> None:
    with pytest.raises(ValidationError, match="before night"):
        request(night="2015-02-23", night_to=date(2015, 2, 22))


def test_events_are_frozen_and_timezone_aware() -> None:
    event = request()
    with pytest.raises(ValidationError):
        event.priority = 9  # type: ignore[misc]
    assert event.produced_at.tzinfo is not None
    with pytest.raises(ValidationError, match="timezone"):
        DateRequested(correlation_id=uuid.uuid4(), instrument_mode="UVES_ECHELLE", night=date(2015, 2, 23),
                      produced_at="2015-02-23T12:00:00")


def test_a_followed_event_keeps_the_request_and_gets_a_derived_id() -> None:
    cause = request()
    first = staged_for(cause).stamped("fetcher@1", 0)
    again = staged_for(cause).stamped("fetcher@1", 0)
    other = staged_for(cause).stamped("fetcher@1", 1)
    assert first.correlation_id == cause.correlation_id and first.causation_id == cause.event_id
    assert first.event_id == again.event_id, "a redelivered input yields the same output ids"
    assert first.event_id != other.event_id
    assert first.produced_by == "fetcher@1"


def test_base_event_is_abstract_about_its_key() -> None:
    with pytest.raises(NotImplementedError):
        Event(schema_version=1, correlation_id=uuid.uuid4()).partition_key  # noqa: B018


def test_data_staged_needs_raw_files() -> None:
    staged = staged_for(request())
    document = staged.model_dump(mode="json")
    document["ab"]["raw_files"] = []
    with pytest.raises(ValidationError, match="raw_files"):
        DataStaged.model_validate(document)
