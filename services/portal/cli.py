"""`phoenix portal --data DIR [--port P]` and `phoenix token create --scope S`.

Entry point: `phoenix.commands` → `portal = "services.portal.cli"`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from shared.cli_arguments import positive_days

if TYPE_CHECKING:
    from services.portal.settings import PortalSettings

# Heavy modules (FastAPI, SQLAlchemy, matplotlib) are imported by the functions that use them, so
# `phoenix token ...` and `phoenix portal --help` start at once.
SCOPES = ("read", "download", "submit", "admin")

DATABASE_URL_VARIABLE = "PHOENIX_DATABASE_URL"
KAFKA_VARIABLE = "PHOENIX_KAFKA_BOOTSTRAP_SERVERS"
DATA_HELP = (
    "archive folder: SQLite DIR/phoenix.db and files under DIR (default PHOENIX_DATA_DIR); "
    f"{DATABASE_URL_VARIABLE}, when set, names the database instead"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    portal = subparsers.add_parser(
        "portal",
        help="serve product search, IVOA SSA, downloads and the processing-history website",
        description=f"Date requests over HTTP are published to {KAFKA_VARIABLE} when it is set.",
    )
    portal.add_argument("--data", type=Path, default=None, metavar="DIR", help=DATA_HELP)
    portal.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    portal.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    portal.set_defaults(run=run_portal, serves=True)

    token = subparsers.add_parser("token", help="API tokens of the portal")
    actions = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a token and print its secret (shown once)")
    create.add_argument("--scope", action="append", required=True, choices=SCOPES,
                        help="scope to grant; repeat for several (admin grants all)")
    create.add_argument("--data", type=Path, default=None, metavar="DIR", help=DATA_HELP)
    create.add_argument("--name", default="", help="who or what the token is for")
    create.add_argument("--expires-days", type=positive_days, default=None,
                        help="valid for this many days, more than 0 (default: no expiry)")
    create.set_defaults(run=run_token_create)


def portal_settings(data: Path | None, host: str, port: int) -> PortalSettings:
    from services.portal.settings import PortalSettings
    from shared.settings import KafkaSettings, StorageSettings, load_settings

    data_dir = data if data is not None else load_settings(StorageSettings).data_dir
    kafka = load_settings(KafkaSettings) if os.environ.get(KAFKA_VARIABLE) else None
    return PortalSettings(
        database_url=database_url(data_dir), data_dir=data_dir.resolve(), host=host, port=port, kafka=kafka
    )


def database_url(data_dir: Path) -> str:
    from services.portal.settings import default_database_url

    return os.environ.get(DATABASE_URL_VARIABLE) or default_database_url(data_dir)


def run_portal(args: argparse.Namespace) -> int:
    from services.portal.service import create_app
    from shared.serving import bind_socket, serve_until_stopped

    settings = portal_settings(args.data, args.host, args.port)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    sock = bind_socket(settings.host, settings.port)
    asyncio.run(serve_until_stopped(create_app(settings), sock, _announce))
    return 0


def _announce(url: str) -> None:
    print(f"portal={url}", flush=True)


def run_token_create(args: argparse.Namespace) -> int:
    from shared.archive.types import utc_now
    from shared.errors import TransientError
    from shared.settings import StorageSettings, load_settings

    data_dir = args.data if args.data is not None else load_settings(StorageSettings).data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    expires_at = utc_now() + timedelta(days=args.expires_days) if args.expires_days is not None else None
    try:
        secret = asyncio.run(_create_token(database_url(data_dir), args.name or "cli", args.scope, expires_at))
    except TransientError as error:
        print(f"phoenix token: {error}", file=sys.stderr)
        return 1
    print(secret)
    return 0


async def _create_token(url: str, name: str, scopes: list[str], expires_at: datetime | None) -> str:
    from shared.archive import ArchiveDatabase, upgrade_to_head
    from shared.archive.models import Scope
    from shared.archive.tokens import create_token

    await upgrade_to_head(url)
    async with ArchiveDatabase(url) as db, db.session() as session:
        _, secret = await create_token(session, name, [Scope(s) for s in scopes], expires_at=expires_at)
    return secret

