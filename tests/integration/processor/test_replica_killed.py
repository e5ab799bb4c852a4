"""A processor replica SIGKILLed mid-recipe: its AB is redone by the other replica, exactly once,
the killed replica's recipe dies with it, and its half-finished work folder is not a result."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from shared.bus.publish import publish
from tests.integration.processor.conftest import esorex_processes_in
from tests.integration.processor.frames import write_bias
from tests.support.bus import Broker, env_for, read_topic
from tests.support.processes import ServiceProcess
from tests.support.storage import folder_store
from tests.unit.processor.support import staged_event

pytestmark = [pytest.mark.kafka, pytest.mark.esorex, pytest.mark.timeout(300)]


async def test_killed_replica_ab_completes_once_on_the_other(broker: Broker, tmp_path: Path) -> None:
    kafka = broker.settings(partitions=2)
    data = tmp_path / "data"
    env = env_for(kafka, PHOENIX_CONCURRENCY="1", PHOENIX_DATA_DIR=str(data))
    raws = [write_bias(tmp_path / f"UVES.bias{n}.fits", "red", seed=n, binning=1) for n in range(6)]
    event = await staged_event(folder_store(data / "store"), "uves_cal_mbias", [(p, "BIAS_RED") for p in raws])
    replicas = [ServiceProcess("processor", env, tmp_path, label=f"replica{n}") for n in (1, 2)]
    try:
        for replica in replicas:
            replica.wait_for_log("assigned", 90)
        await publish(kafka, [event])
        victim, workdir = await _replica_running_esorex(replicas, data / "cache" / "work")
        victim.kill()
        survivor = next(r for r in replicas if r is not victim)
        await asyncio.sleep(1)
        assert esorex_processes_in(workdir) == [], "the killed replica's recipe died with it"
        ready = await read_topic(kafka, "products-ready", expected=1, timeout_seconds=120, settle_seconds=5)
    finally:
        for replica in replicas:
            replica.stop()
    assert len(ready) == 1, "exactly one products-ready"
    [result] = ready
    assert result["status"] == "SUCCESSFUL", result["reason"]
    assert result["reused"] is False, "the half-finished run of the killed replica was not taken as a result"
    assert sorted(p["pro_catg"] for p in result["products"] if p["kind"] != "ANCILLARY") == [
        "MASTER_BIAS_REDL", "MASTER_BIAS_REDU"]
    assert "processor ready" in survivor.log and result["produced_by"].startswith("processor@")
    assert workdir.is_dir() and not (workdir / "result.json").exists(), "the killed run's folder stays a work folder"
    assert json.loads((data / "store" / "jobs" / result["job_key"] / "result.json").read_text())["exit_code"] == 0


async def _replica_running_esorex(replicas: list[ServiceProcess], work: Path) -> tuple[ServiceProcess, Path]:
    """The replica whose child esorex is running now, and that run's work folder."""
    for _ in range(1200):
        for pid in esorex_processes_in(work) if work.exists() else []:
            parent = _parent_of(pid)
            for replica in replicas:
                if parent == replica.process.pid:
                    return replica, Path(f"/proc/{pid}/cwd").resolve()
        await asyncio.sleep(0.05)
    raise AssertionError("no replica started esorex")


def _parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None
