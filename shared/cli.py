"""The `phoenix` command.

Each module in `shared/commands/` adds its own sub-commands through `register(subparsers)`,
so a new command is a new file and this one never grows. A service contributes commands
the same way through the `phoenix.commands` entry-point group, so `shared/` never imports
a service.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from importlib.metadata import entry_points
from types import ModuleType

from shared import __version__, commands
from shared.errors import ConfigError
from shared.logs import configure_logging


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="phoenix",
        description="Night-by-night reduction of raw spectroscopic frames into archive-ready products.",
    )
    parser.add_argument("--version", action="version", version=f"phoenix {__version__}")
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in command_modules():
        module.register(subparsers)
    return parser


def command_modules() -> list[ModuleType]:
    shared_commands = [
        importlib.import_module(f"{commands.__name__}.{info.name}")
        for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name)
    ]
    contributed = [entry.load() for entry in sorted(entry_points(group="phoenix.commands"), key=lambda e: e.name)]
    return shared_commands + contributed


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    try:
        return int(args.run(args) or 0)
    except ConfigError as error:
        print(f"phoenix: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
