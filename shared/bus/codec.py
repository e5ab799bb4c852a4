"""Events on the wire: JSON bytes in, validated models out, or a precise reason why not."""

from __future__ import annotations

import json

from pydantic import ValidationError

from shared.contracts import Event

CONTENT_TYPE = "application/json"


class PoisonMessage(Exception):
    """A message that can never be decoded into its topic's model."""

    def __init__(self, error_class: str, reason: str) -> None:
        super().__init__(f"{error_class}: {reason}")
        self.error_class = error_class
        self.reason = reason


def encode(event: Event) -> bytes:
    return event.model_dump_json().encode()


def headers_for(event: Event) -> list[tuple[str, bytes]]:
    return [
        ("content-type", CONTENT_TYPE.encode()),
        ("event-type", type(event).__name__.encode()),
        ("schema-version", str(event.schema_version).encode()),
        ("correlation-id", str(event.correlation_id).encode()),
    ]


def decode(model: type[Event], value: bytes | None, max_bytes: int) -> Event:
    """The event in `value`, or PoisonMessage saying exactly what is wrong with it."""
    if value is None:
        raise PoisonMessage("EmptyMessage", "the message has no value (tombstone)")
    if len(value) > max_bytes:
        raise PoisonMessage("OversizedMessage", f"{len(value)} bytes exceeds the limit of {max_bytes} bytes")
    try:
        return model.model_validate_json(value)  # parsed and validated in one pass, 2-3 times faster
    except ValidationError:
        return _decoded_step_by_step(model, value)


def _decoded_step_by_step(model: type[Event], value: bytes) -> Event:
    """The event, or PoisonMessage naming what is wrong: JSON, its shape, the schema version or a field."""
    try:
        document = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PoisonMessage("InvalidJson", f"not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise PoisonMessage("SchemaError", f"expected a JSON object, got {type(document).__name__}")
    _check_schema_version(model, document.get("schema_version"))
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise PoisonMessage("SchemaError", _describe(error)) from None


def _check_schema_version(model: type[Event], version: object) -> None:
    known = model.model_fields["schema_version"].default
    if version != known:
        raise PoisonMessage(
            "UnknownSchemaVersion",
            f"schema_version {version!r} is not one this service reads for {model.topic} (it reads {known})",
        )


def _describe(error: ValidationError) -> str:
    problems = [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in error.errors()[:5]]
    more = error.error_count() - len(problems)
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")
