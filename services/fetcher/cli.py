"""`phoenix abs UVES_ECHELLE NIGHT --archive URL_OR_DIR`: the ABs of a night, without Kafka.

Contributed to the `phoenix` command through the `phoenix.commands` entry-point group.
Prints each AB in the dfos style (key-value lines, raw files, then the association log
`EVAL TYPE FLAG FILE PRO_CATG DT LEVEL`; FLAG is REAL for a certified file and VIRTUAL for a
product an MCALIB AB of the same request will make), then the frames no AB uses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date
from typing import TYPE_CHECKING, Any

from shared.cli_arguments import add_request, check_night_range
from shared.errors import DataError, TransientError

if TYPE_CHECKING:
    from services.fetcher.association import Associated
    from services.fetcher.night import NightFrames
    from shared.contracts import AssociationBlock


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "abs",
        help="print the association blocks of a night (classification + association, no Kafka)",
        description="Classify a night's raw frames with the OCA rules and print its association blocks.",
    )
    add_request(parser)
    parser.add_argument("--archive", required=True, help="raw-archive URL, or an archive folder to serve in-process")
    parser.add_argument("--json", action="store_true", help="print a JSON list of ABs")
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    check_night_range(args.parser, args.night, args.night_to, "--to")
    first, last = args.night, args.night_to or args.night
    try:
        frames, result = asyncio.run(_associate_nights(args, first, last))
    except (DataError, TransientError) as error:
        print(f"phoenix abs: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([block_summary(block) for block in result.blocks], indent=2))
        for skipped in result.skipped:
            print(f"SKIPPED {skipped.arcfile} {skipped.category}: {skipped.reason}", file=sys.stderr)
    else:
        print(dfos_report(result, frames))
    if not result.blocks:
        nights = first.isoformat() + (f"..{last.isoformat()}" if last != first else "")
        print(f"phoenix abs: no AB of {args.instrument_mode} on {nights}: {len(frames.frames)} raw file(s) found in "
              f"{args.archive}", file=sys.stderr)
        return 1
    return 0


async def _associate_nights(args: argparse.Namespace, first: date, last: date) -> tuple[NightFrames, Associated]:
    from services.fetcher.association import associate
    from services.fetcher.night import load_classifier, read_catalogue, read_nights
    from shared.instruments.association import load_association_rules
    from shared.rawarchive.listing import open_listing
    from shared.rawarchive.settings import ArchiveClientSettings

    rules = load_association_rules(args.instrument_mode)
    rule_set = rules.rule_set_for(first)
    classifier = load_classifier(args.instrument_mode)
    async with open_listing(ArchiveClientSettings(url=args.archive)) as client:
        frames = await read_nights(client, rules.instrument, first, last, classifier, rule_set, args.mode)
        catalogue = await read_catalogue(client, rules.instrument, frames, args.mode)
    return frames, associate(frames.frames, catalogue, args.mode, rules, rule_set)


def dfos_report(result: Associated, frames: NightFrames) -> str:
    sections = [dfos_block(block) for block in result.blocks]
    summary = f"# {len(result.blocks)} AB(s) from {len(frames.frames)} raw file(s), {len(result.skipped)} not used"
    skipped = [f"SKIPPED {s.arcfile} {s.category}: {s.reason}" for s in result.skipped]
    return "\n\n".join([*sections, "\n".join([summary, *skipped])])


def dfos_block(block: AssociationBlock) -> str:
    fields: list[tuple[str, Any]] = [
        ("AB_ID", block.ab_id),
        ("INSTRUMENT", block.instrument),
        ("DATE", block.night.isoformat()),
        ("AB_NAME", block.ab_name),
        ("AB_EVENT", block.ab_event),
        ("MODE", block.mode.value),
        ("DPR_CATG", block.dpr_catg),
        ("RAW_TYPE", block.raw_type),
        ("RECIPE", block.recipe),
        ("COMPLETENESS", block.completeness.value),
        ("INCOMPLETE_REASON", block.incomplete_reason),
        ("PROCESS_STATUS", "CREATED"),
        ("OBS_PROG_ID", block.obs_prog_id),
        ("OBS_ID", block.obs_id if block.obs_id is not None else ""),
        ("MJD-OBS", f"{block.mjd_obs:.8f}"),
        ("MJD-OBS_MOD", f"{block.mjd_obs_mod:.8f}"),
        ("RAW_MATCH_KEY", " ".join(f"{key}={value}" for key, value in block.raw_match_key.items())),
        ("PROD_ROOT_NAME", block.prod_root_name),
        ("DEPENDS_ON", " ".join(block.depends_on)),
    ]
    lines = [f"{key:<18}{value}" for key, value in fields if value != "" or key == "COMPLETENESS"]
    lines += [f"{'RAWFILE':<18}{raw.arcfile} {raw.category}" for raw in block.raw_files]
    lines += [association_log_line(association) for association in block.calibrations]
    return "\n".join(lines)


def association_log_line(association: Any) -> str:
    from services.fetcher.association import PENDING

    flag = "VIRTUAL" if association.evaluation == PENDING else "REAL"
    return (f"{association.evaluation} {association.role.value} {flag} {association.file} "
            f"{association.pro_catg} {association.delta_days:.3f} {association.level}")


def block_summary(block: AssociationBlock) -> dict[str, Any]:
    return {
        "ab_id": block.ab_id,
        "ab_name": block.ab_name,
        "night": block.night.isoformat(),
        "mode": block.mode.value,
        "raw_type": block.raw_type,
        "recipe": block.recipe,
        "completeness": block.completeness.value,
        "incomplete_reason": block.incomplete_reason,
        "depends_on": block.depends_on,
        "raw_files": [{"arcfile": raw.arcfile, "category": raw.category} for raw in block.raw_files],
        "calibrations": [
            {
                "pro_catg": a.pro_catg,
                "file": a.file,
                "evaluation": a.evaluation,
                "role": a.role.value,
                "delta_days": a.delta_days,
                "level": a.level,
                "considered": a.considered,
            }
            for a in block.calibrations
        ],
    }
