"""Bad input gets a 4xx with a clear message: never a 500, never SQL built from the input."""

from __future__ import annotations

import pytest

from shared.archive.models import Scope
from shared.archive.tokens import create_token
from tests.integration.portal.seed import Spectrum, add_release, add_spectrum, product_id

BAD_SEARCHES = [
    ({"ra": 400, "dec": 0, "radius": 1}, 422, "ra"),
    ({"ra": -1, "dec": 0, "radius": 1}, 422, "ra"),
    ({"ra": 10, "dec": 95, "radius": 1}, 422, "dec"),
    ({"ra": 10, "dec": 0, "radius": -1}, 422, "radius"),
    ({"ra": 10, "dec": 0, "radius": 0}, 422, "radius"),
    ({"ra": "nan", "dec": 0, "radius": 1}, 422, "ra"),
    ({"ra": "inf", "dec": 0, "radius": 1}, 422, "ra"),
    ({"ra": 10, "dec": 0}, 400, "together"),
    ({"ra": "1 OR 1=1", "dec": 0, "radius": 1}, 422, "ra"),
    ({"min_snr": "0; DROP TABLE products"}, 422, "min_snr"),
    ({"night_from": "2024-13-01"}, 422, "night_from"),
    ({"night_from": "2024-03-02", "night_to": "2024-03-01"}, 400, "after"),
    ({"wavelength_min_nm": 700, "wavelength_max_nm": 400}, 400, "above"),
    ({"limit": 0}, 422, "limit"),
    ({"limit": 1001}, 422, "limit"),
    ({"limit": 10**30}, 422, "limit"),
    ({"offset": -1}, 422, "offset"),
    ({"include_obsolete": "perhaps"}, 422, "include_obsolete"),
    ({"target": "x" * 300}, 422, "target"),
]


@pytest.mark.parametrize(("params", "status", "named"), BAD_SEARCHES)
async def test_bad_search_parameters(client, params, status, named) -> None:
    response = await client.get("/api/products", params=params)
    assert response.status_code == status, response.text
    assert named in response.json()["detail"]


async def test_sql_fragments_in_text_are_only_text(client, db, archive_store) -> None:
    await add_release(db)
    await add_spectrum(db, archive_store, Spectrum(product_id(1), 10.0, -20.0))
    for fragment in ("' OR '1'='1", "HD 1234'; DROP TABLE products; --", "%", "_", "\\"):
        response = await client.get("/api/products", params={"target": fragment})
        assert response.status_code == 200 and response.json()["total"] == 0, fragment
        assert (await client.get("/api/products", params={"release": fragment})).json()["total"] == 0
    assert (await client.get("/api/products")).json()["total"] == 1


BAD_SSA = [
    "REQUEST=queryData&POS=400,0&SIZE=1",
    "REQUEST=queryData&POS=10,95&SIZE=1",
    "REQUEST=queryData&POS=10,0&SIZE=-1",
    "REQUEST=queryData&POS=10&SIZE=1",
    "REQUEST=queryData&POS=ten,zero",
    "REQUEST=queryData&POS=10,0;GALACTIC",
    "REQUEST=queryData&MAXREC=100000000000",
    "REQUEST=queryData&MAXREC=-5",
    "REQUEST=queryData&BAND=5e-7/4e-7",
    "REQUEST=queryData&BAND=red",
    "REQUEST=queryData&TIME=yesterday",
    "REQUEST=queryData&TIME=2024-03-02/2024-03-01",
    "REQUEST=queryData&POS=1%20OR%201=1,0",
    "REQUEST=getData",
    "POS=10,0",
]


@pytest.mark.parametrize("query", BAD_SSA)
async def test_bad_ssa_queries_are_error_votables(client, query) -> None:
    response = await client.get(f"/ssa?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    assert b'name="QUERY_STATUS" value="ERROR"' in response.content
    assert b'value="ERROR"/>' not in response.content, "the error carries a message"


async def test_unknown_routes_and_pages_are_404(client) -> None:
    for path in ("/api/nothing", "/history/NO_SUCH_MODE/2024-03-01", "/history/UVES_ECHELLE/not-a-night",
                 "/history/ab/unknown", "/history/releases/unknown", "/history/qc/bad mode/X",
                 "/history/lowercase"):
        response = await client.get(path)
        assert response.status_code == 404, path


async def test_html_pages_answer_errors_in_html(client) -> None:
    response = await client.get("/history/ab/unknown", headers={"Accept": "text/html"})
    assert response.status_code == 404 and "text/html" in response.headers["content-type"]
    assert "no AB" in response.text


async def submit_headers(db) -> dict[str, str]:
    async with db.session() as session:
        _, secret = await create_token(session, "t", [Scope.SUBMIT])
    return {"Authorization": f"Bearer {secret}"}


async def test_an_oversized_body_is_413(client, db) -> None:
    headers = await submit_headers(db)
    response = await client.post("/api/requests", content=b"x" * (10 * 1024 * 1024),
                                 headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 413


async def test_an_oversized_chunked_body_is_413(client, db) -> None:
    async def chunks():
        for _ in range(20):
            yield b"x" * (256 * 1024)

    response = await client.post("/api/requests", content=chunks(),
                                 headers={**await submit_headers(db), "Content-Type": "application/json"})
    assert response.status_code == 413


@pytest.mark.parametrize("body", [
    {"instrument_mode": "UVES_ECHELLE", "night": "2024-02-30"},
    {"instrument_mode": "NOPE", "night": "2024-03-01"},
    {"instrument_mode": "UVES_ECHELLE", "night": "2024-03-02", "night_to": "2024-03-01"},
    {"instrument_mode": "UVES_ECHELLE", "night": "2024-03-01", "mode": "EVERYTHING"},
    {"instrument_mode": "UVES_ECHELLE", "night": "2024-03-01", "priority": 99},
    {"instrument_mode": "UVES_ECHELLE", "night": "2024-03-01", "surprise": 1},
    {"night": "2024-03-01"},
])
async def test_invalid_date_requests_are_422(client, db, body) -> None:
    response = await client.post("/api/requests", json=body, headers=await submit_headers(db))
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


async def test_malformed_json_is_422(client, db) -> None:
    response = await client.post("/api/requests", content=b"{not json",
                                 headers={**await submit_headers(db), "Content-Type": "application/json"})
    assert response.status_code == 422


async def test_submitting_needs_the_submit_scope(client, db) -> None:
    body = {"instrument_mode": "UVES_ECHELLE", "night": "2024-03-01"}
    assert (await client.post("/api/requests", json=body)).status_code == 401
    async with db.session() as session:
        _, secret = await create_token(session, "t", [Scope.READ, Scope.DOWNLOAD])
    response = await client.post("/api/requests", json=body, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403


async def test_without_a_broker_a_valid_request_is_503(client, db) -> None:
    body = {"instrument_mode": "UVES_ECHELLE", "night": "2024-03-01", "mode": "COMPLETE"}
    response = await client.post("/api/requests", json=body, headers=await submit_headers(db))
    assert response.status_code == 503
    assert "PHOENIX_KAFKA_BOOTSTRAP_SERVERS" in response.json()["detail"]
