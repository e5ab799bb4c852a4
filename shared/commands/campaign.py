"""`phoenix campaign INSTRUMENT_MODE --from NIGHT --to NIGHT [--mode ...] [--reprocess] [--id ID]`.

Records the campaign in the archive database and publishes one date request per night.
Nights whose latest request was fetched and whose ABs are all final, under the same rules
version and pipeline version, are skipped unless --reprocess: running the same command
again publishes only what is missing. The broker comes from PHOENIX_KAFKA_BOOTSTRAP_SERVERS,
the database from PHOENIX_DATABASE_URL (or PHOENIX_DATA_DIR).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from shared import __version__
from shared import cli_arguments as arguments
from shared.errors import ConfigError
from shared.modes import ProcessingMode

if TYPE_CHECKING:
    from shared.contracts import DateRequested
    from shared.settings import KafkaSettings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "campaign",
        help="record a campaign and publish one date request per night (skipping nights already done)",
        description=__doc__.split("\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("instrument_mode", help="e.g. UVES_ECHELLE")
    parser.add_argument("--from", dest="night_from", required=True, type=arguments.night, help="first night")
    parser.add_argument("--to", dest="night_to", required=True, type=arguments.night, help="last night (inclusive)")
    arguments.add_mode(parser)
    parser.add_argument("--reprocess", action="store_true", help="request every night, even those already done")
    parser.add_argument("--id", dest="campaign_id", default=None,
                        help="campaign id (default: INSTRUMENT_MODE-FROM-TO-MODE, so a repeated command is the same campaign)")
    parser.add_argument("--description", default="", help="what the campaign is for")
    arguments.add_priority(parser)
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    parser.set_defaults(run=run, parser=parser)


@dataclass
class Plan:
    campaign_id: str
    created: bool
    publish: list[DateRequested] = field(default_factory=list)
    skipped: dict[date, str] = field(default_factory=dict)


def run(args: argparse.Namespace) -> int:
    from shared.campaigns import nights_between
    from shared.instruments import known_modes
    from shared.settings import KafkaSettings, load_settings

    arguments.check_night_range(args.parser, args.night_from, args.night_to, "--to")
    if args.instrument_mode not in known_modes():
        raise ConfigError(f"unknown instrument mode {args.instrument_mode!r}; known: {', '.join(known_modes())}")
    nights_between(args.night_from, args.night_to)
    campaign_id = args.campaign_id or default_campaign_id(args.instrument_mode, args.night_from, args.night_to, args.mode)
    kafka = load_settings(KafkaSettings)
    plan = asyncio.run(_campaign(args, campaign_id, kafka))
    _report(plan, args.json)
    return 0


def default_campaign_id(instrument_mode: str, first: date, last: date, mode: ProcessingMode) -> str:
    return f"{instrument_mode}-{first.isoformat()}-{last.isoformat()}-{mode.value}"


async def _campaign(args: argparse.Namespace, campaign_id: str, kafka: KafkaSettings) -> Plan:
    from shared.archive import ledger
    from shared.archive.database import read
    from shared.bus.publish import publish
    from shared.campaigns import campaign_named, night_progress, nights_between, rules_version, skip_reason
    from shared.pipeline_install import pipeline_version
    from shared.resources import archive_database

    async with archive_database() as database:
        async with database.session() as session:
            created = await ledger.record_campaign(session, campaign_id, args.instrument_mode, args.night_from,
                                                   args.night_to, args.mode, args.description)
            if not created:
                _check_same(await read(session, campaign_named, campaign_id), args)
            progress = await read(session, night_progress, args.instrument_mode,
                                  nights_between(args.night_from, args.night_to), campaign_id)
    plan = Plan(campaign_id, created)
    pipeline = pipeline_version()
    for night in progress:
        reason = None if args.reprocess else skip_reason(
            night, args.mode, rules_version(args.instrument_mode, night.night), pipeline)
        if reason is not None:
            plan.skipped[night.night] = reason
        else:
            plan.publish.append(_request(args, campaign_id, night.night))
    if plan.publish:
        await publish(kafka, plan.publish)
    return plan


def _check_same(campaign, args: argparse.Namespace) -> None:
    given = (args.instrument_mode, args.night_from, args.night_to, args.mode.value)
    recorded = (campaign.instrument_mode, campaign.night_from, campaign.night_to, campaign.mode)
    if given != recorded:
        raise ConfigError(
            f"campaign {campaign.campaign_id} exists for {recorded[0]} {recorded[1]}..{recorded[2]} {recorded[3]}; "
            "choose another --id for different nights or mode"
        )


def _request(args: argparse.Namespace, campaign_id: str, night: date) -> DateRequested:
    from pydantic import ValidationError

    from shared.contracts import DateRequested

    try:
        return DateRequested(
            correlation_id=uuid.uuid4(), produced_by=f"phoenix-campaign@{__version__}",
            instrument_mode=args.instrument_mode, night=night, mode=args.mode, campaign_id=campaign_id,
            priority=args.priority, reprocess=args.reprocess,
        )
    except ValidationError as error:
        raise ConfigError(f"invalid request: {error.errors()[0]['msg']}") from None


def _report(plan: Plan, as_json: bool) -> None:
    if as_json:
        print(json.dumps({
            "campaign_id": plan.campaign_id,
            "created": plan.created,
            "published": [{"night": r.night.isoformat(), "request_id": str(r.request_id)} for r in plan.publish],
            "skipped": [{"night": night.isoformat(), "reason": reason} for night, reason in plan.skipped.items()],
        }, indent=2))
        return
    print(f"campaign {plan.campaign_id}" + ("" if plan.created else " (already recorded)"))
    for request in plan.publish:
        print(f"  published {request.night.isoformat()}  request {request.request_id}")
    for night, reason in plan.skipped.items():
        print(f"  skipped   {night.isoformat()}  {reason}")
    print(f"{len(plan.publish)} night(s) published, {len(plan.skipped)} skipped")
