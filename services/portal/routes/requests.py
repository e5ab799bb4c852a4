"""`POST /api/requests`: a date request over HTTP, published to date-requested."""

from __future__ import annotations

import logging
import uuid
from datetime import date

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.portal.adapters.bus import publish_date_request
from services.portal.dependencies import PortalDep, requires
from services.portal.schemas import RequestAccepted
from shared import __version__
from shared.archive.models import Scope
from shared.contracts import DateRequested, ProcessingMode
from shared.errors import ConfigError, TransientError
from shared.instruments import known_modes

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api/requests", tags=["requests"])


class DateRequestBody(BaseModel):
    """What a client sends; the portal adds the request id, producer and time."""

    model_config = ConfigDict(extra="forbid")

    instrument_mode: str = Field(max_length=64, examples=["UVES_ECHELLE"])
    night: date = Field(examples=["2015-02-23"])
    night_to: date | None = Field(default=None, examples=[None])
    mode: ProcessingMode = Field(default=ProcessingMode.IDP, examples=["IDP"])
    campaign_id: str | None = Field(default=None, max_length=128)
    priority: int = Field(default=5, ge=0, le=9)
    reprocess: bool = False


@router.post("", status_code=202, response_model=RequestAccepted, dependencies=[Depends(requires(Scope.SUBMIT))])
async def submit(body: DateRequestBody, portal: PortalDep) -> RequestAccepted:
    """Publish a date request; 202 with its request id once the broker acknowledged it."""
    request = date_request_of(body)
    if portal.settings.kafka is None:
        raise HTTPException(503, "no message bus configured: set PHOENIX_KAFKA_BOOTSTRAP_SERVERS for the portal")
    try:
        await publish_date_request(portal.settings.kafka, request)
    except (TransientError, ConfigError, OSError) as error:
        # The reason (broker address, client errors) is for the operator's log, not the client.
        logger.warning("date request not published: %s", error)
        raise HTTPException(503, "the message bus did not accept the request, try again later",
                            headers={"Retry-After": "30"}) from None
    logger.info("date request %s published for %s %s", request.request_id, request.instrument_mode, request.night)
    return RequestAccepted(request_id=request.request_id, topic=DateRequested.topic)


def date_request_of(body: DateRequestBody) -> DateRequested:
    if body.instrument_mode not in known_modes():
        raise HTTPException(422, f"unknown instrument mode {body.instrument_mode!r}; known: {', '.join(known_modes())}")
    try:
        return DateRequested(
            correlation_id=uuid.uuid4(), produced_by=f"portal@{__version__}", **body.model_dump()
        )
    except ValidationError as error:
        raise HTTPException(422, f"invalid date request: {error.errors()[0]['msg']}") from None
