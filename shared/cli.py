"""The `phoenix` command.

Each module in `shared/commands/` adds its own sub-commands through `register(subparsers)`,
so a new command is a new file and this one never grows. A service contributes commands
the same way through the `phoenix.commands` entry-point group, so `shared/` never imports
a service.

A module is named like its command (`shared/commands/status.py` registers `status`; an entry
point's name is a command it registers), so `phoenix status` imports that one module and nothing
else: commands start in well under a second. `phoenix --help` and unknown commands load them all.
Logging is quiet (warnings only) unless a command serves (`serves=True`: services, the portal)
or `--log-level` says otherwise.
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

QUIET_LEVEL = "WARNING"
SERVING_LEVEL = "INFO"


class CommandParser(argparse.ArgumentParser):
    """Every usage error is one line naming the argument, exit 2 (no usage block to scroll past)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="phoenix",
        description="Night-by-night reduction of raw spectroscopic frames into archive-ready products.",
    )
    parser.add_argument("--version", action="version", version=f"phoenix {__version__}")
    parser.add_argument("--log-level", default=None,
                        help=f"logging level (default {QUIET_LEVEL}; {SERVING_LEVEL} for services and the portal)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in command_modules(command):
        module.register(subparsers)
    return parser


def command_modules(command: str | None = None) -> list[ModuleType]:
    """The module named for `command`, or every command module when there is none."""
    shared_names = sorted(info.name for info in pkgutil.iter_modules(commands.__path__))
    contributed = {entry.name: entry for entry in entry_points(group="phoenix.commands")}
    if command in shared_names:
        return [importlib.import_module(f"{commands.__name__}.{command}")]
    if command in contributed:
        return [contributed[command].load()]
    modules = [importlib.import_module(f"{commands.__name__}.{name}") for name in shared_names]
    for name in sorted(contributed):
        module = contributed[name].load()
        if module not in modules:
            modules.append(module)
    return modules


def command_names() -> list[str]:
    """The name of every command, without importing any command module."""
    shared_names = {info.name for info in pkgutil.iter_modules(commands.__path__)}
    return sorted(shared_names | {entry.name for entry in entry_points(group="phoenix.commands")})


def command_named(argv: list[str]) -> str | None:
    """The sub-command in `argv` (the first word that is not an option or the log level's value)."""
    words = iter(argv)
    for word in words:
        if word == "--log-level":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = command_named(argv)
    if command is None and "--version" in argv:
        print(f"phoenix {__version__}")
        return 0
    parser = build_parser(command)
    args = parser.parse_args(argv)
    configure_logging(args.log_level or (SERVING_LEVEL if getattr(args, "serves", False) else QUIET_LEVEL))
    try:
        return int(args.run(args) or 0)
    except ConfigError as error:
        print(f"phoenix: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
