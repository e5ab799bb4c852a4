"""Tokens over real HTTP: missing, wrong, expired, revoked, and scope escalation.

Every refusal is checked for what it must not carry: the product's bytes, and any hint of which
check failed (unknown, expired and revoked tokens get the same answer).
"""

from __future__ import annotations

import re

import pytest

from tests.security.conftest import FITS_CARD, ServedPortal, Tokens

DATE_REQUEST = {"instrument_mode": "UVES_ECHELLE", "night": "2024-03-01", "mode": "COMPLETE"}
# Routes anyone may call, token or not: operations and the OpenAPI description.
OPEN_ROUTES = {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


def wrong_tokens(tokens: Tokens) -> dict[str, dict[str, str]]:
    """Authorization headers that must all get the same 401."""
    return {
        "unknown": Tokens.header("phx_" + "A" * 43),
        "expired": Tokens.header(tokens.expired),
        "revoked": Tokens.header(tokens.revoked),
        "truncated": Tokens.header(tokens.admin[:-1]),
        "extended": Tokens.header(tokens.admin + "x"),
        "hash-not-secret": Tokens.header("0" * 64),
        "sql": Tokens.header("' OR 1=1 --"),
    }


MALFORMED = {
    "basic": {"Authorization": "Basic YWRtaW46YWRtaW4="},
    "empty bearer": {"Authorization": "Bearer"},
    "lowercase scheme, no secret": {"Authorization": "bearer"},
    "no scheme": {"Authorization": "phx_abc"},
}


async def test_download_needs_a_valid_download_token(portal: ServedPortal) -> None:
    path = f"/api/products/{portal.product}/file"
    async with portal.client() as http:
        granted = await http.get(path, headers=Tokens.header(portal.tokens.download))
        assert granted.status_code == 200 and granted.content.startswith(FITS_CARD), "the control works"

        refusals = {"none": {}, **wrong_tokens(portal.tokens), **MALFORMED}
        bodies = {}
        for name, headers in refusals.items():
            response = await http.get(path, headers=headers)
            assert response.status_code == 401, (name, response.status_code, response.text[:200])
            assert response.headers["www-authenticate"] == "Bearer", name
            assert "content-disposition" not in response.headers, name
            portal.assert_nothing_leaked(response.content, response.headers, name)
            bodies[name] = response.json()["detail"]
    # Unknown, expired, revoked and near-miss tokens cannot be told apart.
    assert len({bodies[name] for name in wrong_tokens(portal.tokens)}) == 1, bodies


async def test_expired_and_revoked_tokens_are_refused_even_on_public_routes(portal: ServedPortal) -> None:
    async with portal.client() as http:
        for secret in (portal.tokens.expired, portal.tokens.revoked):
            for path in ("/api/products", f"/api/products/{portal.product}", "/ssa?REQUEST=queryData", "/history/"):
                response = await http.get(path, headers=Tokens.header(secret))
                assert response.status_code == 401, (path, response.status_code)
                portal.assert_nothing_leaked(response.content, response.headers, path)
                assert portal.product not in response.text


@pytest.mark.parametrize(("scope", "allowed"), [
    ("read", False), ("submit", False), ("download", True), ("read_download", True), ("admin", True),
])
async def test_only_download_or_admin_tokens_download(portal: ServedPortal, scope: str, allowed: bool) -> None:
    response = None
    async with portal.client() as http:
        response = await http.get(f"/api/products/{portal.product}/file",
                                  headers=Tokens.header(getattr(portal.tokens, scope)))
    if allowed:
        assert response.status_code == 200 and response.content.startswith(FITS_CARD)
        return
    assert response.status_code == 403, response.text
    assert response.json()["detail"] == "this API token lacks scope download"
    portal.assert_nothing_leaked(response.content, response.headers, scope)


@pytest.mark.parametrize("scope", ["read", "download", "read_download"])
async def test_read_and_download_tokens_cannot_submit(portal: ServedPortal, scope: str) -> None:
    async with portal.client() as http:
        response = await http.post("/api/requests", json=DATE_REQUEST,
                                   headers=Tokens.header(getattr(portal.tokens, scope)))
    assert response.status_code == 403, response.text
    assert response.json()["detail"] == "this API token lacks scope submit"


async def test_submit_without_or_with_a_wrong_token_is_401_before_the_body_is_looked_at(portal: ServedPortal) -> None:
    async with portal.client() as http:
        for headers in ({}, *wrong_tokens(portal.tokens).values()):
            for body in (DATE_REQUEST, {"instrument_mode": "NOPE", "night": "not a date"}):
                response = await http.post("/api/requests", json=body, headers=headers)
                assert response.status_code == 401, (headers, body, response.text)
                assert "instrument" not in response.text and "night" not in response.text
        # The submit and admin tokens get past authorisation (503: this portal has no broker).
        for secret in (portal.tokens.submit, portal.tokens.admin):
            response = await http.post("/api/requests", json=DATE_REQUEST, headers=Tokens.header(secret))
            assert response.status_code == 503, response.text


async def test_a_submit_token_does_not_download(portal: ServedPortal) -> None:
    async with portal.client() as http:
        response = await http.get(f"/api/products/{portal.product}/file", headers=Tokens.header(portal.tokens.submit))
    assert response.status_code == 403
    portal.assert_nothing_leaked(response.content, response.headers)


async def test_there_is_no_admin_only_route_to_escalate_to(portal: ServedPortal, app) -> None:
    """Admin-only work (tokens, reviews) is done with the CLI on the server, not over HTTP: every
    route the app has is one of these, each behind the scope listed in the portal README."""
    routes = _routes(app)
    assert {method for method, _ in routes} <= {"GET", "POST"}
    assert {path for method, path in routes if method == "POST"} == {"/api/requests"}
    async with portal.client() as http:
        for verb in ("PUT", "PATCH", "DELETE"):
            for path in ("/api/products", f"/api/products/{portal.product}", "/api/requests"):
                response = await http.request(verb, path, headers=Tokens.header(portal.tokens.admin))
                assert response.status_code == 405, (verb, path, response.status_code)


def _routes(app) -> set[tuple[str, str]]:
    """(method, path template) of every route the app declares (its OpenAPI paths)."""
    return {(method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item}


def _sample_path(template: str, portal: ServedPortal) -> str:
    samples = {"product_id": portal.product, "name": "preview.png", "ab_id": portal.ab_ids[0], "mode": "UVES_ECHELLE",
               "night": "2024-03-01", "parameter": "QC.PARAM0"}
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: samples.get(m.group(1), "x"), template)


async def test_every_route_refuses_a_wrong_token(portal: ServedPortal, app) -> None:
    """Whatever its scope, a data route checks a token it is given: a new route without the check fails here."""
    checked = 0
    async with portal.client() as http:
        for method, path in sorted(_routes(app)):
            if path in OPEN_ROUTES:
                continue
            response = await http.request(method, _sample_path(path, portal),
                                          headers=Tokens.header(portal.tokens.revoked),
                                          json=DATE_REQUEST if method == "POST" else None)
            assert response.status_code == 401, (method, path, response.status_code)
            portal.assert_nothing_leaked(response.content, response.headers, path)
            checked += 1
    assert checked >= 15


async def test_with_public_read_off_every_read_route_needs_a_read_token(private_portal: ServedPortal, app) -> None:
    portal = private_portal
    read_paths = [
        "/api/products", f"/api/products/{portal.product}", f"/api/products/{portal.product}/files/preview.png",
        "/ssa?REQUEST=queryData", "/history/", "/history/UVES_ECHELLE", "/history/UVES_ECHELLE/2024-03-01",
        f"/history/ab/{portal.ab_ids[0]}", "/history/releases/", "/history/reviews", "/history/qc/UVES_ECHELLE",
    ]
    async with portal.client() as http:
        for path in read_paths:
            refused = await http.get(path)
            assert refused.status_code == 401, (path, refused.status_code)
            assert refused.headers["www-authenticate"] == "Bearer"
            portal.assert_nothing_leaked(refused.content, refused.headers, path)
            for needle in (portal.product, "HD 1234", portal.ab_ids[0]):
                assert needle not in refused.text, (path, needle)
            assert (await http.get(path, headers=Tokens.header(portal.tokens.submit))).status_code == 403, path
            granted = await http.get(path, headers=Tokens.header(portal.tokens.read))
            assert granted.status_code == 200, (path, granted.status_code)
