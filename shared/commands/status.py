"""`phoenix status [--campaign ID] [--json]`: progress per night from the archive database's ledger.

With --campaign: every night of the campaign (its latest request, ABs by state, done/failed),
a progress bar over nights and ABs, the measured throughput (ABs finished per minute since
the campaign's first recorded transition) and an ETA. Without: one line per campaign (the
newest first), the requests not yet finished and the last ones that finished. Reads
PHOENIX_DATABASE_URL (or PHOENIX_DATA_DIR/phoenix.db), says which, and never creates or
migrates it; needs no broker.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Group
    from rich.table import Table
    from sqlalchemy import Row
    from sqlalchemy.engine import Connection

    from shared.campaigns import NightProgress, Throughput

CAMPAIGNS_LISTED = 50
FINISHED_LISTED = 10


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "status", help="progress of campaigns and requests, per night, from the ledger",
        description=__doc__.split("\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--campaign", dest="campaign_id", default=None, help="campaign id")
    parser.add_argument("--json", action="store_true", help="print machine-readable progress on stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from shared.archive.settings import DatabaseSettings, shown_url
    from shared.resources import existing_archive_database
    from shared.settings import load_settings

    settings = load_settings(DatabaseSettings)
    with existing_archive_database(settings) as connection:
        report = _campaign_report(connection, args.campaign_id) if args.campaign_id else _overview(connection)
    database = shown_url(settings.url)
    if args.json:
        print(json.dumps({"database": database, **report}, indent=2))
        return 0
    from shared.terminal import console  # rich: only for the tables

    out = console()
    out.print(f"archive database: {database}", highlight=False, soft_wrap=True)
    out.print(_campaign_view(report) if args.campaign_id else _overview_view(report))
    return 0


def _campaign_report(connection: Connection, campaign_id: str) -> dict:
    from shared.campaigns import campaign_named, campaign_progress, throughput
    from shared.errors import ConfigError

    campaign = campaign_named(connection, campaign_id)
    if campaign is None:
        raise ConfigError(f"no campaign {campaign_id!r} in the ledger")
    progress = campaign_progress(connection, campaign)
    speed = throughput(connection, campaign, progress)
    return {"campaign": _campaign_fields(campaign), "nights": [p.as_dict() for p in progress],
            "totals": _totals(progress, speed)}


def _overview(connection: Connection) -> dict:
    from shared.campaigns import (
        ab_states_of_requests,
        campaign_progress,
        finished_requests,
        recent_campaigns,
        throughput,
        unfinished_requests,
    )

    campaigns = []
    for campaign in recent_campaigns(connection, CAMPAIGNS_LISTED):
        progress = campaign_progress(connection, campaign)
        speed = throughput(connection, campaign, progress)
        campaigns.append({"campaign": _campaign_fields(campaign), "totals": _totals(progress, speed)})
    unfinished = unfinished_requests(connection)
    finished = finished_requests(connection, FINISHED_LISTED)
    ab_states = ab_states_of_requests(connection, [r.request_id for r in unfinished + finished])
    return {"campaigns": campaigns,
            "unfinished_requests": [_request_fields(r, ab_states.get(r.request_id, Counter())) for r in unfinished],
            "finished_requests": [_request_fields(r, ab_states.get(r.request_id, Counter())) for r in finished]}


def _request_fields(request: Row[Any], ab_states: Counter[str]) -> dict:
    return {
        "request_id": str(request.request_id), "instrument_mode": request.instrument_mode,
        "night": request.night.isoformat(), "night_to": request.night_to.isoformat() if request.night_to else None,
        "mode": request.mode, "campaign_id": request.campaign_id, "state": request.state.value,
        "updated_at": request.updated_at.isoformat(), "ab_states": dict(sorted(ab_states.items())),
    }


def _campaign_fields(campaign: Row[Any]) -> dict:
    return {
        "campaign_id": campaign.campaign_id, "instrument_mode": campaign.instrument_mode,
        "night_from": campaign.night_from.isoformat(), "night_to": campaign.night_to.isoformat(),
        "mode": campaign.mode, "description": campaign.description, "created_at": campaign.created_at.isoformat(),
    }


def _totals(progress: list[NightProgress], speed: Throughput) -> dict:
    from shared.lifecycle import NightState

    nights = Counter({state.value: 0 for state in NightState})
    nights.update(p.state.value for p in progress)
    return {
        "nights": len(progress),
        "nights_by_state": dict(nights),
        "nights_finished": nights[NightState.DONE] + nights[NightState.FAILED],
        "abs": sum(len(p.abs) for p in progress),
        "abs_final": sum(p.final for p in progress),
        "abs_failed": sum(p.failed for p in progress),
        "abs_remaining_estimate": round(speed.remaining_abs, 1),
        "abs_per_minute": round(speed.abs_per_minute, 3) if speed.abs_per_minute is not None else None,
        "eta_seconds": round(speed.eta_seconds) if speed.eta_seconds is not None else None,
    }


def _campaign_view(report: dict) -> Group:
    from rich.console import Group
    from rich.table import Table

    campaign, totals = report["campaign"], report["totals"]
    nights = Table(title=f"campaign {campaign['campaign_id']}: {campaign['instrument_mode']} "
                   f"{campaign['night_from']} … {campaign['night_to']} {campaign['mode']}")
    for column in ("night", "state", "request", "ABs", "final", "failed", "ABs by state"):
        nights.add_column(column, justify="right" if column in ("ABs", "final", "failed") else "left",
                          no_wrap=column == "request")
    for night in report["nights"]:
        nights.add_row(
            night["night"], night["state"], (night["request_id"] or "–")[:8] + (f" {night['request_state']}"
                                                                               if night["request_state"] else ""),
            str(night["abs"]), str(night["abs_final"]), str(night["abs_failed"]),
            ", ".join(f"{count} {state}" for state, count in night["ab_states"].items()),
        )
    return Group(nights, _bars(totals))


def _bars(totals: dict) -> Table:
    from rich.progress_bar import ProgressBar
    from rich.table import Table

    bars = Table.grid(padding=(0, 1))
    bars.add_row("nights", ProgressBar(total=max(totals["nights"], 1), completed=totals["nights_finished"], width=40),
                 f"{totals['nights_finished']}/{totals['nights']} finished "
                 f"({totals['nights_by_state']['FAILED']} failed)")
    all_abs = totals["abs_final"] + totals["abs_remaining_estimate"]
    bars.add_row("ABs", ProgressBar(total=max(all_abs, 1), completed=totals["abs_final"], width=40),
                 f"{totals['abs_final']}/{totals['abs']} final ({totals['abs_failed']} failed)"
                 + (f"; ~{totals['abs_remaining_estimate']:.0f} to go" if totals["abs_remaining_estimate"] else ""))
    bars.add_row("", "", _eta_text(totals))
    return bars


def _eta_text(totals: dict) -> str:
    if totals["abs_per_minute"] is None:
        return "throughput: nothing finished yet, no ETA"
    if totals["eta_seconds"] == 0:
        return f"throughput {totals['abs_per_minute']:.2f} AB/min; finished"
    return (f"throughput {totals['abs_per_minute']:.2f} AB/min; ETA {timedelta(seconds=totals['eta_seconds'])} "
            f"for ~{totals['abs_remaining_estimate']:.0f} AB(s)")


def _overview_view(report: dict) -> Group:
    from rich.console import Group
    from rich.table import Table

    from shared.lifecycle import NightState

    campaigns = Table(title="campaigns (newest first)")
    for column in ("campaign", "nights", "DONE", "FAILED", "PROCESSING", "PENDING", "ABs final", "ETA"):
        campaigns.add_column(column, no_wrap=column == "campaign")
    for entry in report["campaigns"]:
        c, t = entry["campaign"], entry["totals"]
        by_state = t["nights_by_state"]
        eta = "–" if t["eta_seconds"] is None else str(timedelta(seconds=t["eta_seconds"]))
        campaigns.add_row(c["campaign_id"], str(t["nights"]), *(str(by_state[s]) for s in NightState.__members__),
                          f"{t['abs_final']}/{t['abs']}", eta)
    shown = [campaigns] if report["campaigns"] else []
    shown.append(_requests_table("unfinished requests", report["unfinished_requests"]))
    shown.append(_requests_table(f"last {FINISHED_LISTED} finished requests (newest first)",
                                 report["finished_requests"]))
    return Group(*shown)


def _requests_table(title: str, requests: list[dict]) -> Table:
    from rich.table import Table

    table = Table(title=title)
    for column in ("request", "night", "mode", "campaign", "state", "updated (UTC)", "ABs by state"):
        table.add_column(column, no_wrap=column in ("request", "night", "updated (UTC)"))
    for r in requests:
        table.add_row(r["request_id"], r["night"] + (f"…{r['night_to']}" if r["night_to"] else ""), r["mode"],
                      r["campaign_id"] or "", r["state"], r["updated_at"][:19].replace("T", " "),
                      ", ".join(f"{n} {s}" for s, n in sorted(r["ab_states"].items())))
    if not requests:
        table.add_row("none", "", "", "", "", "", "")
    return table
