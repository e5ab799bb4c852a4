"""ASGI middleware: request metrics by route template, a cap on request body size, checks of
the request target (query string length, NUL characters), the public origin of links, HEAD, and
security headers."""

from __future__ import annotations

import json
import time
from urllib.parse import unquote_to_bytes, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.portal.metrics import REQUEST_DURATION, REQUESTS, UNMATCHED_ROUTE

BODY_METHODS = ("POST", "PUT", "PATCH")


class HttpMiddleware:
    """Pure ASGI middleware that acts on HTTP requests only: anything else (lifespan) passes through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.handle(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class RequestMetrics(HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
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


class RequestTargetLimits(HttpMiddleware):
    """Before any route runs: a query string over `max_query_bytes` → 414; a NUL character
    (`%00`) in the path → 404, in the query string → 422.

    The HTTP server's own limit on the request line depends on how the bytes arrive (h11 only
    limits an incomplete request), so it is set here. No id, name or search value contains a NUL,
    and PostgreSQL cannot even compare text with one (psycopg raises instead of finding nothing),
    so letting it through turned lookups such as `/history/ab/X%00` into 500s on PostgreSQL.
    """

    def __init__(self, app: ASGIApp, max_query_bytes: int = 8192) -> None:
        super().__init__(app)
        self.max_query_bytes = max_query_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string", b"")
        if len(query) > self.max_query_bytes:
            await _send_json(send, 414, f"query string longer than {self.max_query_bytes} bytes")
        elif "\x00" in scope["path"]:
            await _send_json(send, 404, "no such resource: the path contains a NUL character")
        elif b"\x00" in unquote_to_bytes(query):
            await _send_json(send, 422, "query parameters must not contain NUL characters")
        else:
            await self.app(scope, receive, send)


class BodySizeLimit(HttpMiddleware):
    """413 for bodies over `max_bytes`: declared (Content-Length) or counted while streaming."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
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


class PublicOrigin(HttpMiddleware):
    """Every absolute URL the app builds (`url_for`, `request.base_url`, next-page links) comes from
    the configured public origin, or else from the address the server listens on: the client's
    Host header is replaced before any route sees it, so it is never reflected into a link."""

    def __init__(self, app: ASGIApp, public_url: str | None) -> None:
        super().__init__(app)
        parsed = urlsplit(public_url) if public_url else None
        self.origin = (parsed.scheme, parsed.netloc) if parsed else None

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scheme, host = self.origin or (scope.get("scheme", "http"), listening_host(scope))
        headers = [(name, value) for name, value in scope["headers"] if name != b"host"]
        # In place: RequestMetrics reads the matched route from this same dict.
        scope["scheme"] = scheme
        scope["headers"] = [*headers, (b"host", host.encode("latin-1"))]
        await self.app(scope, receive, send)


def listening_host(scope: Scope) -> str:
    server = scope.get("server")
    if not server:
        return "localhost"
    host, port = server[0], server[1]
    if ":" in host:
        host = f"[{host}]"
    default_port = 443 if scope.get("scheme") == "https" else 80
    return host if port in (None, default_port) else f"{host}:{port}"


class HeadAsGet(HttpMiddleware):
    """HEAD on every GET route (and static files): answered as GET, with the same headers and no body."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        scope["method"] = "GET"
        await self.app(scope, receive, send_headers_only)


PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    b"content-security-policy": PAGE_POLICY.encode(),
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
    b"x-frame-options": b"DENY",
}


class SecurityHeaders(HttpMiddleware):
    """CSP (own scripts, styles and images only; never framed), nosniff, Referrer-Policy and
    X-Frame-Options on every response, errors included."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                added = [(name, value) for name, value in SECURITY_HEADERS.items() if name not in present]
                message = {**message, "headers": [*message.get("headers", []), *added]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
