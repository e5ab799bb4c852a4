"""Publish events from outside a service (the CLI, the portal, tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from shared.bus.codec import encode, headers_for
from shared.bus.kafka import ensure_topics, make_producer
from shared.contracts import Event
from shared.settings import KafkaSettings


async def publish(settings: KafkaSettings, events: Sequence[Event], connect_attempts: int = 5) -> None:
    """Send events to their topics and wait until every one is acknowledged (acks=all)."""
    await ensure_topics(settings, sorted({event.topic for event in events}), connect_attempts)
    producer = make_producer(settings, "phoenix-cli")
    await producer.start()
    try:
        deliveries = [
            await producer.send(
                settings.topic(event.topic), encode(event), key=event.partition_key.encode(), headers=headers_for(event)
            )
            for event in events
        ]
        await asyncio.gather(*deliveries)
    finally:
        await producer.stop()
