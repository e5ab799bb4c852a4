"""The envelope written to `<topic>.dlq`: enough to understand and replay the message."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, Field

from shared.contracts.base import Model


class DeadLetter(Model):
    schema_version: Literal[1] = Field(default=1, description="Version of the envelope schema.", examples=[1])
    topic: str = Field(description="Topic the message was read from.", examples=["date-requested"])
    partition: int = Field(description="Its partition.", examples=[0])
    offset: int = Field(description="Its offset.", examples=[42])
    key_base64: str | None = Field(description="The original key bytes, base64.", examples=["VVZFU19FQ0hFTExFOjIwMTUtMDItMjM="])
    value_base64: str = Field(description="The original value bytes, base64.", examples=["eyJub3QiOiAianNvbiJ9"])
    headers: list[tuple[str, str]] = Field(
        default_factory=list, description="The original headers, values base64.", examples=[[["content-type", "YXBwbGljYXRpb24vanNvbg=="]]]
    )
    error_class: str = Field(description="Kind of failure.", examples=["SchemaError"])
    reason: str = Field(description="What was wrong, in words.", examples=["field 'night': invalid date"])
    attempts: int = Field(ge=1, description="How many times the message was tried.", examples=[1])
    service: str = Field(description="`service@version` that gave up on it.", examples=["fetcher@0.1.0"])
    dead_lettered_at: AwareDatetime = Field(
        default_factory=lambda: datetime.now(UTC), description="When.", examples=["2026-11-24T18:00:00+00:00"]
    )

    @property
    def value(self) -> bytes:
        return base64.b64decode(self.value_base64)
