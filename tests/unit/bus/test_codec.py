import json

import pytest

from shared.bus.codec import PoisonMessage, decode, encode, headers_for
from shared.contracts import DateRequested
from tests.support.bus import request

LIMIT = 1_000_000


def test_round_trip() -> None:
    event = request(campaign_id="c1")
    assert decode(DateRequested, encode(event), LIMIT) == event
    assert dict(headers_for(event))["event-type"] == b"DateRequested"


@pytest.mark.parametrize(
    ("value", "error_class", "words"),
    [
        (None, "EmptyMessage", "tombstone"),
        (b"{oops", "InvalidJson", "not valid JSON"),
        (b"\xff\xfe", "InvalidJson", "not valid JSON"),
        (b"[1, 2]", "SchemaError", "JSON object"),
        (b'{"schema_version": 2}', "UnknownSchemaVersion", "schema_version 2"),
        (b'{"night": "2015-02-23"}', "UnknownSchemaVersion", "None"),
        (b"x" * (LIMIT + 1), "OversizedMessage", "exceeds the limit"),
    ],
)
def test_poison_is_named(value: bytes | None, error_class: str, words: str) -> None:
    with pytest.raises(PoisonMessage) as caught:
        decode(DateRequested, value, LIMIT)
    assert caught.value.error_class == error_class
    assert words in caught.value.reason


def test_schema_error_names_the_field() -> None:
    document = json.loads(encode(request()))
    document["night"] = "2015-02-30"
    document["priority"] = 12
    with pytest.raises(PoisonMessage) as caught:
        decode(DateRequested, json.dumps(document).encode(), LIMIT)
    assert caught.value.error_class == "SchemaError"
    assert "night" in caught.value.reason and "priority" in caught.value.reason


def test_unknown_fields_are_refused() -> None:
    document = json.loads(encode(request()))
    document["nigth_to"] = "2015-02-24"
    with pytest.raises(PoisonMessage, match="nigth_to"):
        decode(DateRequested, json.dumps(document).encode(), LIMIT)
