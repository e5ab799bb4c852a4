"""Body-size limit and route-template labels (ASGI level, no database)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI, Request

from services.portal.middleware import BodySizeLimit, RequestMetrics, route_template


def small_app() -> FastAPI:
    app = FastAPI()

    @app.post("/echo/{name}")
    async def echo(name: str, request: Request) -> dict[str, int]:
        return {"bytes": len(await request.body())}

    app.add_middleware(BodySizeLimit, max_bytes=1024)
    app.add_middleware(RequestMetrics)
    return app


async def test_bodies_over_the_limit_are_413_declared_or_chunked() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=small_app()), base_url="http://t") as http:
        assert (await http.post("/echo/a", content=b"x" * 1024)).json() == {"bytes": 1024}
        assert (await http.post("/echo/a", content=b"x" * 1025)).status_code == 413

        async def chunks():
            for _ in range(4):
                yield b"x" * 400

        assert (await http.post("/echo/a", content=chunks())).status_code == 413

        async def small_chunks():
            yield b"x" * 10
            yield b"y" * 10

        assert (await http.post("/echo/a", content=small_chunks())).json() == {"bytes": 20}


def test_route_template_of_an_unmatched_scope() -> None:
    assert route_template({"type": "http", "path": "/x"}) == "unmatched"
