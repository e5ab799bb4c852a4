"""What every event carries, whatever its topic."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

EVENT_ID_NAMESPACE = uuid.UUID("6b1b7a0e-58d4-4c59-9a44-2f7a54a1c0de")


class Model(BaseModel):
    """A frozen contract model: unknown fields are refused so typos never pass silently."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Event(Model):
    """Base of every topic's event. `topic` is fixed per subclass; every topic is at version 1 of
    its schema, and a topic whose schema breaks declares its next `schema_version` itself."""

    topic: ClassVar[str]
    schema_version: Literal[1] = Field(default=1, description="Version of this topic's schema.", examples=[1])
    event_id: uuid.UUID = Field(
        default_factory=uuid.uuid4,
        description="Unique id of this event; derived from its cause, so a redelivered input "
        "produces outputs with the same ids.",
        examples=["0b9d6f7e-8d4f-4a43-9a0f-7d2b1f6a9e21"],
    )
    correlation_id: uuid.UUID = Field(
        description="The date request this event belongs to, unchanged end to end.",
        examples=["3f0c1e52-2f6c-4c7e-a2f1-0d6f1f7c9b10"],
    )
    causation_id: uuid.UUID | None = Field(
        default=None,
        description="event_id of the input event that caused this one (none for a request).",
        examples=["0b9d6f7e-8d4f-4a43-9a0f-7d2b1f6a9e21"],
    )
    produced_by: str = Field(
        default="",
        description="`service@version` that produced the event.",
        examples=["fetcher@0.1.0"],
    )
    produced_at: AwareDatetime = Field(
        default_factory=lambda: datetime.now(UTC),
        description="When the event was produced (timezone-aware).",
        examples=["2026-11-24T18:00:00+00:00"],
    )

    @property
    def partition_key(self) -> str:
        """Kafka message key: events with the same key stay in order on one partition."""
        raise NotImplementedError

    @classmethod
    def following(cls, cause: Event, **fields: object) -> Self:
        """A new event caused by `cause`, in the same request."""
        return cls(correlation_id=cause.correlation_id, causation_id=cause.event_id, **fields)

    def stamped(self, produced_by: str, index: int) -> Self:
        """This event with its producer and an id derived from its cause and position.

        The runtime calls this on every output, so a redelivered input yields outputs with the
        same event ids and downstream consumers can recognise the repeat.
        """
        if self.causation_id is None:
            return self.model_copy(update={"produced_by": produced_by})
        seed = f"{self.causation_id}:{self.topic}:{self.partition_key}:{index}"
        return self.model_copy(
            update={"produced_by": produced_by, "event_id": uuid.uuid5(EVENT_ID_NAMESPACE, seed)}
        )
