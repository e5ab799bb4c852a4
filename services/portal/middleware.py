"""ASGI middleware: request metrics by route template, a cap on request body size, and checks of
the request target (query string length, NUL characters)."""

from __future__ import annotations

import json
import time
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.portal.metrics import REQUEST_DURATION, REQUESTS, UNMATCHED_ROUTE

BODY_METHODS = ("POST", "PUT", "PATCH")


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            route = route_template(scope)
            REQUESTS.labels(route=route, status=str(status)).inc()
            REQUEST_DURATION.labels(route=route).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The matched route's path template (e.g. /api/products/{product_id}); the router puts the
    route into the scope it was given, which is this same dict."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    return UNMATCHED_ROUTE


class RequestTargetLimits:
    """Before any route runs: a query string over `max_query_bytes` → 414; a NUL character
    (`%00`) in the path → 404, in the query string → 422.

    The HTTP server's own limit on the request line depends on how the bytes arrive (h11 only
    limits an incomplete request), so it is set here. No id, name or search value contains a NUL,
    and PostgreSQL cannot even compare text with one (psycopg raises instead of finding nothing),
    so letting it through turned lookups such as `/history/ab/X%00` into 500s on PostgreSQL.
    """

    def __init__(self, app: ASGIApp, max_query_bytes: int = 8192) -> None:
        self.app = app
        self.max_query_bytes = max_query_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query = scope.get("query_string", b"")
            if len(query) > self.max_query_bytes:
                await _send_json(send, 414, f"query string longer than {self.max_query_bytes} bytes")
                return
            if "\x00" in scope["path"]:
                await _send_json(send, 404, "no such resource: the path contains a NUL character")
                return
            if b"\x00" in unquote_to_bytes(query):
                await _send_json(send, 422, "query parameters must not contain NUL characters")
                return
        await self.app(scope, receive, send)


class BodySizeLimit:
    """413 for bodies over `max_bytes`: declared (Content-Length) or counted while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        if declared is None and scope["method"] in BODY_METHODS:
            # Chunked upload: read it (at most max_bytes) before the app sees any of it.
            messages = await self._buffered(receive)
            if messages is None:
                await self._refuse(send)
                return
            receive = _replay(messages, receive)
        await self.app(scope, receive, send)

    async def _buffered(self, receive: Receive) -> list[Message] | None:
        messages: list[Message] = []
        received = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                return None
            if not message.get("more_body", False):
                return messages

    async def _refuse(self, send: Send) -> None:
        await _send_json(send, 413, f"request body larger than {self.max_bytes} bytes")


async def _send_json(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replaying_receive() -> Message:
        return pending.pop(0) if pending else await receive()

    return replaying_receive
