"""`phoenix simulate UVES --night YYYY-MM-DD --out DIR`: a night of raw frames as the observatory records them."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from shared.errors import ConfigError

INSTRUMENTS = ("UVES", "GIRAFFE")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="write a simulated night of raw frames (calibrations + science with truth files)",
        description="Render a night of UVES raw frames where the pipeline's physical model puts light.",
    )
    parser.add_argument("instrument", help="instrument to simulate (UVES or GIRAFFE)")
    parser.add_argument("--night", required=True, help="observing night, YYYY-MM-DD (the evening's date)")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", type=Path, help="folder to write the raw files into")
    target.add_argument(
        "--into-archive",
        type=Path,
        metavar="ROOT",
        help="raw-archive root: files go to ROOT/raw/<INSTRUMENT>/<night>/",
    )
    parser.add_argument("--preset", default="demo", help="night preset: demo (default) or small")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same files")
    parser.add_argument("--binning", default=None, help="CCD binning, 2x2 or 1x1 (default: the preset's)")
    parser.add_argument("--arms", default=None, help="comma-separated arms to keep: blue,red")
    parser.add_argument(
        "--settings", default=None, help="comma-separated settings, e.g. blue390,blue437,red580,red860"
    )
    parser.add_argument("--targets", type=int, default=None, help="number of science targets")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # Imported here so that `phoenix --help` stays fast (astropy, numpy).
    from tools.simulator.plan import night_plan
    from tools.simulator.uves import archive_night_folder, install_static_calibrations, simulate_night

    if args.instrument.upper() not in INSTRUMENTS:
        raise ConfigError(
            f"unknown instrument {args.instrument!r}: the simulator knows {', '.join(INSTRUMENTS)}"
        )
    if args.seed < 0:
        raise ConfigError("--seed must be zero or positive")
    if args.instrument.upper() == "GIRAFFE":
        from tools.simulator.giraffe import simulate_from_arguments

        return simulate_from_arguments(args, _night(args.night))
    plan = night_plan(
        night=_night(args.night),
        preset=args.preset,
        seed=args.seed,
        binning=args.binning,
        settings=_list(args.settings),
        arms=_list(args.arms),
        targets=args.targets,
    )
    out = archive_night_folder(args.into_archive, plan) if args.into_archive else args.out
    result = simulate_night(plan, out)
    if args.into_archive:
        install_static_calibrations(args.into_archive)
    print(f"{len(result.raw_files)} raw frames and {len(result.truth_files)} truth files in {result.folder}")
    return 0


def _night(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise ConfigError(f"--night {text!r} is not a valid date (YYYY-MM-DD)") from error


def _list(text: str | None) -> list[str] | None:
    return [part.strip() for part in text.split(",") if part.strip()] if text else None
