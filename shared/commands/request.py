"""`phoenix request INSTRUMENT_MODE NIGHT [--to NIGHT] [--mode ...]`: publish a date request."""

from __future__ import annotations

import argparse
import asyncio
import uuid

from shared import __version__
from shared.cli_arguments import add_priority, add_request, check_night_range


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "request",
        help="publish a date request to date-requested and print its request id",
        description="The broker comes from PHOENIX_KAFKA_BOOTSTRAP_SERVERS.",
    )
    add_request(parser)
    parser.add_argument("--campaign", dest="campaign_id", default=None, help="campaign id")
    add_priority(parser)
    parser.add_argument("--reprocess", action="store_true", help="process again what was already ingested")
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from shared.bus.publish import publish
    from shared.contracts import DateRequested
    from shared.errors import ConfigError
    from shared.settings import KafkaSettings, load_settings

    check_night_range(args.parser, args.night, args.night_to, "--to")
    kafka = load_settings(KafkaSettings)
    try:
        request = DateRequested(
            correlation_id=uuid.uuid4(),
            produced_by=f"phoenix-cli@{__version__}",
            instrument_mode=args.instrument_mode,
            night=args.night,
            night_to=args.night_to,
            mode=args.mode,
            campaign_id=args.campaign_id,
            priority=args.priority,
            reprocess=args.reprocess,
        )
    except ValidationError as error:
        raise ConfigError(f"invalid request: {error.errors()[0]['msg']}") from None
    asyncio.run(publish(kafka, [request]))
    print(request.request_id)
    return 0
