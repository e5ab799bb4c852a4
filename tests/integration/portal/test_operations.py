"""Date requests over HTTP to a real broker, /metrics with bounded labels, /healthz, /readyz, /docs, the CLI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from services.portal.service import create_app
from services.portal.settings import PortalSettings
from shared.archive.models import Scope
from shared.archive.tokens import create_token
from tests.support.bus import read_topic

ROOT = Path(__file__).resolve().parents[3]


async def submit_token(db) -> dict[str, str]:
    async with db.session() as session:
        _, secret = await create_token(session, "t", [Scope.SUBMIT])
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.kafka
async def test_a_date_request_is_published_to_date_requested(settings: PortalSettings, db, broker) -> None:
    kafka = broker.settings()
    app: FastAPI = create_app(settings.model_copy(update={"kafka": kafka}))
    body = {"instrument_mode": "UVES_ECHELLE", "night": "2024-03-01", "night_to": "2024-03-03", "mode": "COMPLETE"}
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal.test") as http:
            response = await http.post("/api/requests", json=body, headers=await submit_token(db))
    assert response.status_code == 202, response.text
    request_id = response.json()["request_id"]
    [published] = await read_topic(kafka, "date-requested", expected=1)
    assert published["correlation_id"] == request_id
    assert (published["night"], published["night_to"], published["mode"]) == ("2024-03-01", "2024-03-03", "COMPLETE")
    assert published["produced_by"].startswith("portal@")


async def test_metrics_count_requests_by_route_template(client) -> None:
    for product in ("PHX.2026-11-24T18:00:00.000.1", "PHX.2026-11-24T18:00:00.000.2"):
        await client.get(f"/api/products/{product}")
    await client.get("/no/such/path/at/all")
    text = (await client.get("/metrics")).text
    assert re.search(r'phoenix_portal_requests_total\{route="/api/products/\{product_id\}",status="404"\} [2-9]', text)
    assert 'phoenix_portal_request_duration_seconds_count{route="/api/products/{product_id}"}' in text
    assert 'route="unmatched"' in text
    assert "PHX.2026" not in text, "no raw paths in labels"


async def test_health_and_openapi(client) -> None:
    health = (await client.get("/healthz")).json()
    assert health["status"] == "ok" and health["database"] in ("sqlite", "postgresql")
    schema = (await client.get("/openapi.json")).json()
    assert {"/api/products", "/api/products/{product_id}", "/api/products/{product_id}/file", "/ssa",
            "/api/requests"} <= set(schema["paths"])
    assert (await client.get("/docs")).status_code == 200


async def test_ready_while_the_database_answers(client) -> None:
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ok"


async def test_not_ready_without_its_database_but_alive(tmp_path: Path) -> None:
    """A PostgreSQL server that is not there (nothing listens on port 1): /readyz 503, /healthz 200."""
    app = create_app(PortalSettings(database_url="postgresql://phoenix:secret@127.0.0.1:1/phoenix", data_dir=tmp_path,
                                    migrate=False))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal.test") as http:
            ready = await http.get("/readyz")
            alive = await http.get("/healthz")
    assert ready.status_code == 503 and ready.json() == {"status": "unavailable", "database": "postgresql"}
    assert "secret" not in ready.text
    assert alive.status_code == 200


def test_portal_and_token_commands(tmp_path: Path) -> None:
    """`phoenix token create` and `phoenix portal`, through the `phoenix` command itself."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
    command = [sys.executable, "-m", "shared.cli"]
    created = subprocess.run([*command, "token", "create", "--scope", "download", "--data", str(tmp_path),
                              "--name", "cli-test", "--expires-days", "1"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("phx_") and (tmp_path / "phoenix.db").is_file()
    portal = subprocess.Popen([*command, "portal", "--data", str(tmp_path), "--port", "0"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = portal.stdout.readline() if portal.stdout else ""
        match = re.fullmatch(r"portal=(http://127\.0\.0\.1:\d+)\n", line)
        assert match, (line, portal.stderr.read() if portal.poll() is not None and portal.stderr else "")
        base = match.group(1)
        assert httpx.get(f"{base}/healthz", timeout=10).json()["database"] == "sqlite"
        missing = httpx.get(f"{base}/api/products/PHX.2026-11-24T18:00:00.000.1/file",
                            headers={"Authorization": f"Bearer {secret}"}, timeout=10)
        assert missing.status_code == 404, "the token from the command is accepted"
        wrong = httpx.get(f"{base}/api/products/PHX.2026-11-24T18:00:00.000.1/file",
                          headers={"Authorization": "Bearer phx_nope"}, timeout=10)
        assert wrong.status_code == 401
    finally:
        portal.terminate()
        deadline = time.monotonic() + 15
        while portal.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if portal.poll() is None:
            portal.kill()
