"""The pages people meet, over real HTTP on 127.0.0.1: landing page, search form and results, the
product page (preview first, then provenance and QC), target search as people type names, API
docs from local assets, HEAD, security headers, links from the public origin only, and public logs
without server paths."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from services.portal.service import create_app
from services.portal.settings import PortalSettings
from shared.archive import ArchiveDatabase
from shared.serving import serve_in_background
from tests.integration.portal.seed import MODE, NIGHT, Spectrum, add_release, add_spectrum, product_id, seed_night

HTML = {"accept": "text/html"}
TARGETS = {1: "HD 20794", 2: "HD 1234", 3: "alpha Cen A"}
UNSCORED_AB = f"{MODE}.{NIGHT}.BIAS_RED.0001"


@pytest.fixture
async def served(app: FastAPI, db: ArchiveDatabase, archive_store, data_dir) -> AsyncIterator[httpx.AsyncClient]:
    await add_release(db)
    await seed_night(db)
    for index, target in TARGETS.items():
        await add_spectrum(db, archive_store, Spectrum(
            product_id(index), 10.0 + index, -20.0, target=target, ab_id=UNSCORED_AB,
            log=f"[ INFO  ] esorex: reading {data_dir}/work/ab-{index}/UVES.2024-03-01T23:00:00.000.fits\n"
                f"[ INFO  ] writing /var/tmp/phoenix/out/red_science_blue.fits\n"))
    async with serve_in_background(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield client


async def test_landing_page_leads_to_search_history_and_api(served: httpx.AsyncClient) -> None:
    page = await served.get("/", headers=HTML)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for link in ('action="http', "/search", "/history/", "/docs", f"/history/qc/{MODE}"):
        assert link in page.text
    assert "3 science-ready spectra" in page.text


@pytest.mark.parametrize(("typed", "found"), [
    ("HD 20794", {1}), ("HD20794", {1}), ("hd-20794", {1}), ("hd", {1, 2}), ("HD 2", {1}), ("  Alpha cen", {3}),
    ("alphacena", {3}), ("20794", set()), ("HD 207945", set()), ("%", set()),
])
async def test_target_search_ignores_case_spaces_punctuation_and_takes_prefixes(
    served: httpx.AsyncClient, typed: str, found: set[int]
) -> None:
    answer = (await served.get("/api/products", params={"target": typed})).json()
    assert {p["product_id"] for p in answer["products"]} == {product_id(i) for i in found}
    page = await served.get("/search", params={"target": typed}, headers=HTML)
    assert page.status_code == 200
    assert {i for i in TARGETS if f"/products/{product_id(i)}" in page.text} == found


async def test_search_form_empty_fields_and_bad_values(served: httpx.AsyncClient) -> None:
    empty = await served.get("/search", headers=HTML)
    assert empty.status_code == 200 and '<form class="search"' in empty.text and "/products/" not in empty.text
    form = await served.get("/search?target=&ra=11&dec=-20&radius=0.5&night_from=&min_snr=", headers=HTML)
    assert form.status_code == 200 and f"/products/{product_id(1)}" in form.text
    bad = await served.get("/search?ra=north&dec=1&radius=1", headers=HTML)
    assert bad.status_code == 422 and "ra" in bad.text and "<html" in bad.text and "Traceback" not in bad.text
    half_cone = await served.get("/search?ra=10", headers=HTML)
    assert half_cone.status_code == 400 and "ra, dec and radius together" in half_cone.text


async def test_product_page_shows_the_spectrum_first_then_provenance_then_qc(served: httpx.AsyncClient) -> None:
    page = (await served.get(f"/products/{product_id(1)}", headers=HTML)).text
    preview = page.index(f"/api/products/{product_id(1)}/files/preview.png")
    assert preview < page.index("Provenance") < page.index("Quality control")
    assert "HD 20794" in page and "MASTER_BIAS_BLUE.fits" in page and "master calibration" in page
    assert "One scale" in page and "score 0" in page and "grade" in page, "the score legend"
    scored, _, folded = page.partition("<details")
    assert "QC.PARAM0" in scored and "QC.PARAM2" in folded, "the unscored parameter is folded away"
    assert (await served.get("/products/PHX.nope", headers=HTML)).status_code == 404
    assert (await served.get("/products/..%2F..%2Fetc", headers=HTML)).status_code == 404


async def test_ab_page_folds_unscored_rows_and_shows_previews_first(served: httpx.AsyncClient) -> None:
    page = (await served.get(f"/history/ab/{UNSCORED_AB}", headers=HTML)).text
    assert page.index("preview.png") < page.index("Association log") < page.index("QC parameters")
    assert "1 unscored parameters" in page and f"/products/{product_id(1)}" in page


async def test_api_docs_are_served_from_local_assets(served: httpx.AsyncClient) -> None:
    docs = await served.get("/docs")
    assert docs.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert sources and all(s.startswith(str(served.base_url).rstrip("/")) or s.startswith("/") for s in sources), sources
    for source in sources:
        asset = await served.get(source)
        assert asset.status_code == 200 and len(asset.content) > 0, source
    assert "swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text.lower()
    assert (await served.get("/openapi.json")).json()["paths"]["/api/products"]
    assert (await served.get("/redoc")).status_code == 404


GET_PAGES = ["/", "/search?target=HD", f"/products/{product_id(1)}", "/api/products?target=hd",
             f"/api/products/{product_id(1)}", f"/api/products/{product_id(1)}/files/preview.png",
             f"/api/products/{product_id(1)}/files/esorex.log", "/history/", f"/history/{MODE}",
             f"/history/{MODE}/{NIGHT}", f"/history/ab/{UNSCORED_AB}", f"/history/qc/{MODE}",
             f"/history/qc/{MODE}/QC.PARAM0", "/history/reviews", "/history/releases/", "/docs", "/openapi.json",
             "/static/portal.css", "/healthz", "/metrics", "/ssa?REQUEST=queryData&POS=11,-20&SIZE=1",
             "/api/products/PHX.nope", "/no/such/page"]


@pytest.mark.parametrize("path", GET_PAGES)
async def test_every_response_has_security_headers_and_answers_head(served: httpx.AsyncClient, path: str) -> None:
    got = await served.get(path, headers=HTML)
    head = await served.head(path, headers=HTML)
    for response in (got, head):
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["x-frame-options"] == "DENY"
    assert head.status_code == got.status_code and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]


async def test_refusals_carry_security_headers_too(served: httpx.AsyncClient) -> None:
    refused = (await served.get("/api/products?" + "x" * 9000),
               await served.post("/api/requests", content=b"x" * (2 << 20)))
    for response in refused:
        assert response.status_code in (413, 414) and response.headers["x-frame-options"] == "DENY"


async def test_links_never_come_from_the_host_header(served: httpx.AsyncClient) -> None:
    hostile = {"host": "evil.example:666", "x-forwarded-host": "evil.example", "accept": "text/html"}
    for path in ("/api/products?target=hd&limit=1", f"/api/products/{product_id(1)}", "/", "/search?target=hd",
                 f"/products/{product_id(1)}", f"/history/{MODE}/{NIGHT}", "/docs"):
        response = await served.get(path, headers=hostile)
        assert response.status_code == 200 and "evil.example" not in response.text, path
    links = (await served.get("/api/products?target=hd&limit=1", headers=hostile)).json()
    assert links["products"][0]["links"]["self"].startswith(str(served.base_url).rstrip("/") + "/api/products/")
    assert links["next"].startswith(str(served.base_url).rstrip("/") + "/api/products?")


async def test_links_use_the_configured_public_url(settings: PortalSettings, db, archive_store) -> None:
    await add_release(db)
    await add_spectrum(db, archive_store, Spectrum(product_id(1), 10.0, -20.0))
    app = create_app(settings.model_copy(update={"public_url": "https://archive.example.org"}))
    async with serve_in_background(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        answer = (await client.get("/api/products", headers={"host": "evil.example"})).json()
        page = (await client.get(f"/products/{product_id(1)}", headers={"host": "evil.example"})).text
    assert answer["products"][0]["links"]["self"] == f"https://archive.example.org/api/products/{product_id(1)}"
    assert 'href="https://archive.example.org/static/portal.css"' in page and "evil.example" not in page


def test_a_public_url_with_a_path_is_refused() -> None:
    with pytest.raises(ValueError, match="public_url"):
        PortalSettings(database_url="sqlite://", data_dir=".", public_url="https://example.org/portal")


async def test_public_logs_name_no_server_folder(served: httpx.AsyncClient, data_dir) -> None:
    log = await served.get(f"/api/products/{product_id(1)}/files/esorex.log")
    assert log.status_code == 200 and log.headers["content-type"].startswith("text/plain")
    assert "UVES.2024-03-01T23:00:00.000.fits" in log.text and "red_science_blue.fits" in log.text
    assert str(data_dir) not in log.text and "/var/tmp" not in log.text and "/work/" not in log.text
