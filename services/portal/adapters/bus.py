"""Publishing a date request to `date-requested`."""

from __future__ import annotations

from aiokafka.errors import KafkaError

from shared.bus.publish import publish
from shared.contracts import DateRequested
from shared.errors import TransientError
from shared.settings import KafkaSettings

# A web request should not wait through the CLI's five connection attempts.
CONNECT_ATTEMPTS = 2


async def publish_date_request(kafka: KafkaSettings, request: DateRequested) -> None:
    """TransientError when the broker cannot be reached or does not acknowledge."""
    try:
        await publish(kafka, [request], connect_attempts=CONNECT_ATTEMPTS)
    except KafkaError as error:
        raise TransientError(f"{type(error).__name__}: {error}") from error
