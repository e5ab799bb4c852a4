"""Oversized requests are refused with a 4xx, and no answer (error or not) carries internals:
no stack trace, no server path, no broker address, no library names."""

from __future__ import annotations

import json

import pytest

from shared.settings import KafkaSettings
from tests.security.conftest import ServedPortal, Tokens, raw_request
from tools.broker.kafka import free_ports

TEN_MB = 10 * 1024 * 1024
CHUNK = 256 * 1024
DATE_REQUEST = {"instrument_mode": "UVES_ECHELLE", "night": "2024-03-01", "mode": "COMPLETE"}


async def test_a_declared_10_mb_body_is_413_whatever_the_route_or_token(portal: ServedPortal) -> None:
    body = b"x" * TEN_MB
    for target, method, headers in (
        ("/api/requests", "POST", Tokens.header(portal.tokens.submit)),
        ("/api/requests", "POST", {}),
        ("/api/products", "GET", {}),
        (f"/api/products/{portal.product}/file", "GET", Tokens.header(portal.tokens.download)),
    ):
        response = await raw_request(portal, target, method=method, headers=headers, body=body)
        assert response.status_code == 413, (target, response.status_code)
        assert json.loads(response.body)["detail"] == "request body larger than 1048576 bytes"
        portal.assert_nothing_leaked(response.body, response.headers, target)


async def test_a_chunked_10_mb_body_is_413_before_it_is_all_read(portal: ServedPortal) -> None:
    chunks = (b"x" * CHUNK for _ in range(TEN_MB // CHUNK))
    response = await raw_request(portal, "/api/requests", method="POST", body=chunks,
                                 headers={**Tokens.header(portal.tokens.submit), "Content-Type": "application/json"})
    assert response.status_code == 413, response.body[:200]
    assert response.body_bytes_sent < TEN_MB, "refused while the body was still coming"
    portal.assert_nothing_leaked(response.body, response.headers, "chunked")


async def test_a_deeply_nested_json_body_is_a_4xx(portal: ServedPortal) -> None:
    depth = 200_000
    bomb = b"[" * depth + b"]" * depth
    response = await raw_request(portal, "/api/requests", method="POST", body=bomb,
                                 headers={**Tokens.header(portal.tokens.submit), "Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, (response.status_code, response.body[:200])
    portal.assert_nothing_leaked(response.body, response.headers, "nested json")


@pytest.mark.parametrize("size", [20_000, 100_000, 1_000_000])
async def test_huge_query_strings_are_4xx(portal: ServedPortal, size: int) -> None:
    for target in (f"/api/products?target={'A' * size}", f"/ssa?REQUEST=queryData&TARGETNAME={'A' * size}",
                   f"/history/qc/UVES_ECHELLE/QC.PARAM0?raw_type={'A' * size}",
                   f"/api/products?{'&'.join(['limit=1'] * (size // 8))}"):
        response = await raw_request(portal, target)
        assert 400 <= response.status_code < 500, (target[:60], size, response.status_code)
        portal.assert_nothing_leaked(response.body, response.headers, target[:60])


async def test_long_values_under_the_server_limit_are_refused_by_the_routes(portal: ServedPortal) -> None:
    """Below the HTTP server's request-line limit the routes' own length checks answer."""
    for target in ("/api/products?target=" + "A" * 4000, "/api/products?release=" + "A" * 4000,
                   "/api/products?instrument=" + "A" * 4000, "/ssa?REQUEST=queryData&TARGETNAME=" + "A" * 4000,
                   "/history/qc/UVES_ECHELLE/QC.PARAM0?raw_type=" + "A" * 4000, "/history/ab/" + "A" * 4000):
        response = await raw_request(portal, target)
        assert response.status_code in (400, 404, 422), (target[:50], response.status_code)
        portal.assert_nothing_leaked(response.body, response.headers, target[:50])


async def test_huge_headers_are_4xx(portal: ServedPortal) -> None:
    for headers in ({"Authorization": "Bearer " + "A" * 1_000_000}, {"X-Filler": "A" * 100_000},
                    {f"X-Filler-{i}": "A" * 100 for i in range(2000)}):
        response = await raw_request(portal, f"/api/products/{portal.product}/file", headers=headers)
        assert 400 <= response.status_code < 500, response.status_code
        portal.assert_nothing_leaked(response.body, response.headers, "huge header")


async def test_error_answers_carry_no_internals(portal: ServedPortal) -> None:
    """One request for each kind of refusal; each body and its headers are checked for leaks."""
    submit, download = Tokens.header(portal.tokens.submit), Tokens.header(portal.tokens.download)
    cases = [
        ("GET", f"/api/products/{portal.product}/file", {}, None, 401),
        ("GET", f"/api/products/{portal.product}/file", Tokens.header(portal.tokens.read), None, 403),
        ("GET", "/api/products/PHX.2099-01-01T00:00:00.000.1/file", download, None, 404),
        ("GET", "/api/products?ra=400&dec=0&radius=1", {}, None, 422),
        ("GET", "/api/products?ra=1&dec=0", {}, None, 400),
        ("GET", "/ssa?REQUEST=queryData&POS=ten,zero", {}, None, 400),
        ("GET", "/history/ab/unknown", {"Accept": "text/html"}, None, 404),
        ("GET", "/history/UVES_ECHELLE/not-a-night", {"Accept": "text/html"}, None, 404),
        ("GET", "/nothing/here", {}, None, 404),
        ("POST", "/api/requests", {**submit, "Content-Type": "application/json"}, b"{not json", 422),
        ("POST", "/api/requests", {**submit, "Content-Type": "application/json"},
         json.dumps({**DATE_REQUEST, "night": "2024-02-30"}).encode(), 422),
        ("POST", "/api/requests", {**submit, "Content-Type": "application/json"},
         json.dumps(DATE_REQUEST).encode(), 503),
        ("GET", "/api/products?target=%00", {}, None, 422),
        ("GET", "/history/ab/x%00", {}, None, 404),
    ]
    for method, target, headers, body, status in cases:
        response = await raw_request(portal, target, method=method, headers=headers, body=body or b"")
        assert response.status_code == status, (method, target, response.status_code, response.body[:200])
        portal.assert_nothing_leaked(response.body, response.headers, target)
        assert "x-powered-by" not in response.headers


async def test_a_broker_failure_does_not_tell_the_client_where_the_broker_is(
    settings, db, archive_store, data_dir
) -> None:
    """POST /api/requests with an unreachable broker: 503, and the broker address stays in the log."""
    from services.portal.service import create_app
    from tests.security.conftest import _serve, seed_portal

    ids, ab_ids = await seed_portal(db, archive_store, data_dir)
    broker = f"127.0.0.1:{free_ports(1)[0]}"
    app = create_app(settings.model_copy(update={"kafka": KafkaSettings(bootstrap_servers=broker)}))
    async for portal in _serve(app, db, data_dir, ids, ab_ids):
        async with portal.client() as http:
            response = await http.post("/api/requests", json=DATE_REQUEST, headers=Tokens.header(portal.tokens.submit))
        assert response.status_code == 503, response.text
        assert broker not in response.text and "127.0.0.1" not in response.text, response.text
        assert response.headers.get("retry-after")
        portal.assert_nothing_leaked(response.content, response.headers, "broker down")
