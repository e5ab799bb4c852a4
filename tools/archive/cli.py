"""`phoenix archive serve`: the local raw-data archive over HTTP."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from shared.errors import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    archive = subparsers.add_parser("archive", help="the local raw-data archive")
    actions = archive.add_subparsers(dest="archive_command", required=True, metavar="ACTION")
    serve = actions.add_parser(
        "serve",
        help="serve an archive folder over HTTP (OpenAPI at /docs)",
        description="Serves ROOT/raw/<INSTRUMENT>/<night>/ and ROOT/calib/<INSTRUMENT>/ over HTTP. "
        "Environment: PHOENIX_ARCHIVE_TOKEN protects uploads and retirements.",
    )
    serve.add_argument("--root", type=Path, required=True, help="archive folder holding raw/ and calib/")
    serve.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    serve.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    serve.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from shared.serving import bind_socket, serve_until_stopped
    from tools.archive.server import create_app
    from tools.archive.settings import ArchiveServerSettings

    if not args.root.is_dir():
        raise ConfigError(f"archive root {args.root} is not a folder")
    settings = ArchiveServerSettings(root=args.root, host=args.host, port=args.port)
    sock = bind_socket(settings.host, settings.port)
    asyncio.run(serve_until_stopped(create_app(settings), sock, _announce))
    return 0


def _announce(url: str) -> None:
    print(f"archive={url}", flush=True)
