"""Running an ASGI app with uvicorn on a socket we bind ourselves, so a free port is known before it serves."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import FrameType

import uvicorn
from fastapi import FastAPI

from shared.errors import ConfigError

log = logging.getLogger(__name__)

_START_TIMEOUT_SECONDS = 15.0
_STOP_TIMEOUT_SECONDS = 10.0
_POLL_SECONDS = 0.02


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {error}") from error
    return sock


def socket_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if sock.family == socket.AF_INET6 else f"http://{host}:{port}"


class _Server(uvicorn.Server):
    """A uvicorn server that remembers the signals that stopped it."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.stopped_by: list[int] = []

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.stopped_by.append(sig)
        super().handle_exit(sig, frame)


def make_server(app: FastAPI, *, access_log: bool) -> _Server:
    # log_config=None keeps phoenix's logging set-up instead of uvicorn's own handlers
    config = uvicorn.Config(app, log_config=None, access_log=access_log, timeout_graceful_shutdown=2)
    return _Server(config)


async def serve_until_stopped(app: FastAPI, sock: socket.socket, announce: Callable[[str], None]) -> None:
    """Serves in this thread until SIGINT/SIGTERM; calls `announce(url)` once it accepts connections."""
    server = make_server(app, access_log=True)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while not server.started and not serving.done() and time.monotonic() < deadline:
        await asyncio.sleep(_POLL_SECONDS)
    if not server.started:
        server.should_exit = True
        await serving
        raise ConfigError(f"archive server did not start within {_START_TIMEOUT_SECONDS:.0f} s")
    announce(socket_url(sock))
    await serving
    # uvicorn re-raises the signal after its graceful stop, but whether asyncio turns that into
    # KeyboardInterrupt depends on where the loop is; Ctrl-C must always exit like one (130).
    if signal.SIGINT in server.stopped_by:
        raise KeyboardInterrupt


@asynccontextmanager
async def serve_in_background(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Runs `app` in a thread of its own (so a busy caller loop cannot stall it); yields its base URL."""
    sock = bind_socket(host, port)
    server = make_server(app, access_log=False)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="archive-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            await asyncio.sleep(_POLL_SECONDS)
        if not server.started:
            raise ConfigError(f"in-process archive server did not start on {socket_url(sock)}")
        log.info("in-process archive server at %s", socket_url(sock))
        yield socket_url(sock)
    finally:
        server.should_exit = True
        await asyncio.to_thread(thread.join, _STOP_TIMEOUT_SECONDS)
        if thread.is_alive():
            log.warning("in-process archive server still stopping after %.0f s", _STOP_TIMEOUT_SECONDS)
        sock.close()
