"""Command-line arguments several commands share: an instrument mode, a night or a range of
nights, a processing mode. One declaration each, so every command spells and checks them alike."""

from __future__ import annotations

import argparse
from datetime import date

from shared.contracts import ProcessingMode

MODE_HELP = "IDP (science with certified calibrations), MCALIB (masters) or COMPLETE (both)"


def night(text: str) -> date:
    """An observing night, YYYY-MM-DD; argparse names the argument when it is not one."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a night (YYYY-MM-DD, the evening's date)") from None


def add_nights(parser: argparse.ArgumentParser) -> None:
    """INSTRUMENT_MODE NIGHT [--to NIGHT]: a night, or a range of nights up to --to."""
    parser.add_argument("instrument_mode", help="instrument mode, e.g. UVES_ECHELLE")
    parser.add_argument("night", type=night, help="observing night, YYYY-MM-DD (the evening's date)")
    parser.add_argument("--to", dest="night_to", type=night, default=None, help="last night of a range, YYYY-MM-DD")


def add_mode(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", type=ProcessingMode, choices=list(ProcessingMode), default=ProcessingMode.IDP,
                        help=MODE_HELP)
