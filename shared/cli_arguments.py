"""Command-line arguments several commands share: an instrument mode, a night or a range of
nights, a processing mode, a number of days. One declaration each, so every command spells and
checks them alike, and refuses a bad value with one line naming it (exit 2)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from typing import TypeVar

from shared.modes import ProcessingMode

E = TypeVar("E", bound=StrEnum)
MODE_HELP = "IDP (science with certified calibrations), MCALIB (masters) or COMPLETE (both)"


def night(text: str) -> date:
    """An observing night, YYYY-MM-DD; argparse names the argument when it is not one."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a night (YYYY-MM-DD, the evening's date)") from None


def add_request(parser: argparse.ArgumentParser) -> None:
    """What a date request names: INSTRUMENT_MODE NIGHT [--to NIGHT] [--mode MODE], a night or a
    range of nights up to --to."""
    parser.add_argument("instrument_mode", help="instrument mode, e.g. UVES_ECHELLE")
    parser.add_argument("night", type=night, help="observing night, YYYY-MM-DD (the evening's date)")
    parser.add_argument("--to", dest="night_to", type=night, default=None, help="last night of a range, YYYY-MM-DD")
    add_mode(parser)


def add_mode(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", type=member_of(ProcessingMode), default=ProcessingMode.IDP, help=MODE_HELP)


def add_priority(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--priority", type=int, choices=range(10), default=5, metavar="0-9",
                        help="0 (lowest) to 9 (highest)")


def check_night_range(parser: argparse.ArgumentParser, first: date, last: date | None, last_option: str) -> None:
    """Exit 2 when the last night of a range comes before its first."""
    if last is not None and last < first:
        parser.error(f"argument {last_option}: {last} is before the first night {first}")


def member_of(kind: type[E]) -> Callable[[str], E]:
    """An argparse type for a string enum whose refusal lists the allowed values."""

    def parse(text: str) -> E:
        try:
            return kind(text)
        except ValueError:
            allowed = ", ".join(member.value for member in kind)
            raise argparse.ArgumentTypeError(f"{text!r} is not one of {allowed}") from None

    parse.__name__ = kind.__name__
    return parse


def positive_days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days") from None
    if not days > 0 or days == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} days: a token must be valid for more than 0 days")
    return days
