"""`phoenix run` on the embedded broker, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.support.processes import PHOENIX

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]


def test_run_processes_a_request_and_prints_a_json_summary() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
    result = subprocess.run(
        [PHOENIX, "run", "UVES_ECHELLE", "2015-02-23", "--to", "2015-02-24", "--mode", "COMPLETE", "--json"],
        env=env, capture_output=True, text=True, timeout=150,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    assert summary["request_id"]
    assert [ab["state"] for ab in summary["abs"]] == ["INGESTED", "INGESTED"]
    assert {ab["ab_id"].split(".")[1] for ab in summary["abs"]} == {"2015-02-23", "2015-02-24"}
    assert set(summary["abs"][0]) >= {"ab_id", "raw_type", "recipe", "state", "scores", "product_ids"}


def test_run_refuses_an_invalid_request() -> None:
    result = subprocess.run([PHOENIX, "run", "UVES_ECHELLE", "2015-02-23", "--to", "2015-02-20"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "before night" in result.stderr
