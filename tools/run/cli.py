"""`phoenix run INSTRUMENT_MODE NIGHT --archive URL_OR_DIR [--data DIR] [--mode ...] [--json]`.

Only the arguments live here, so a mistyped command is refused at once; the run itself
(tools/run/command.py) loads the broker, the database and the services' clients.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from shared.cli_arguments import add_request, check_night_range


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run", help="process one request on this machine: Apache Kafka, archive and every service"
    )
    add_request(parser)
    parser.add_argument("--archive", required=True,
                        help="raw-data archive: a folder to serve locally, a phoenix archive URL, "
                        "eso: (ESO's Science Archive) or eso:BASE (ESO's interface under BASE)")
    parser.add_argument("--data", type=Path, default=Path("data"),
                        help="broker log, database, file store and logs (default ./data)")
    parser.add_argument("--json", action="store_true", help="print a machine-readable summary on stdout")
    parser.add_argument("--timeout", type=float, default=3600, help="give up after this many seconds")
    parser.add_argument("--processors", type=int, default=os.cpu_count() or 1,
                        help="recipes run at once (default: the number of cores)")
    parser.set_defaults(run=run, parser=parser)


def run(args: argparse.Namespace) -> int:
    check_night_range(args.parser, args.night, args.night_to, "--to")
    from tools.run.command import run as run_request

    return run_request(args)
