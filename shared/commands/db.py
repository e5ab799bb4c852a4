"""`phoenix db upgrade|revision`: the archive database schema."""

from __future__ import annotations

import argparse
import asyncio
import sys

from shared.errors import TransientError

DATABASE_HELP = "The database comes from PHOENIX_DATABASE_URL (default: SQLite phoenix.db under PHOENIX_DATA_DIR)."


def register(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser("db", help="the archive database", description=DATABASE_HELP)
    actions = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = actions.add_parser(
        "upgrade",
        help="migrate the archive database to the newest schema and print its revision",
        description=f"Safe to run while services start (they run it too). {DATABASE_HELP}",
    )
    upgrade.set_defaults(run=run_upgrade)
    revision = actions.add_parser(
        "revision",
        help="write a new migration from the models' difference with the database (for developers)",
        description=f"The database should be at head. {DATABASE_HELP}",
    )
    revision.add_argument("message", help="what the migration changes, e.g. 'add products.obs_id'")
    revision.set_defaults(run=run_revision)


def run_upgrade(args: argparse.Namespace) -> int:
    from shared.archive.migrate import upgrade_to_head
    from shared.archive.settings import DatabaseSettings
    from shared.settings import load_settings

    settings = load_settings(DatabaseSettings)
    try:
        print(asyncio.run(upgrade_to_head(settings.url)))
    except TransientError as error:
        print(f"phoenix: {error}", file=sys.stderr)
        return 1
    return 0


def run_revision(args: argparse.Namespace) -> int:
    from shared.archive.migrate import write_revision
    from shared.archive.settings import DatabaseSettings
    from shared.settings import load_settings

    settings = load_settings(DatabaseSettings)
    print(asyncio.run(write_revision(settings.url, args.message)))
    return 0
