"""`phoenix schema export DIR`: one JSON Schema file per topic."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("schema", help="JSON Schemas of the topics")
    actions = parser.add_subparsers(dest="action", required=True)
    export_parser = actions.add_parser("export", help="write one JSON Schema file per topic into DIR")
    export_parser.add_argument("directory", type=Path)
    export_parser.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    from shared.contracts.schemas import export

    for path in export(args.directory):
        print(path)
    return 0
