"""`phoenix run` killed with SIGKILL mid-night, first the supervisor alone, then its whole process
group: no process of the run is left, and the same command run again resumes from the broker's
log and the ledger (no `phoenix reconcile`) to every AB final, no product duplicated. A child
that dies during the last run is reported and restarted."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.processes import PHOENIX

pytestmark = [pytest.mark.kafka, pytest.mark.esorex, pytest.mark.slow, pytest.mark.timeout(900)]

NIGHT = "2024-03-01"
RECIPE_STARTED = " started (pid "
GONE_WITHIN_SECONDS = 15


def start_run(archive: Path, data: Path, output: Path) -> subprocess.Popen[bytes]:
    """`phoenix run` as a user starts it from a shell: a process group of its own."""
    for log in (data / "logs").glob("*.log"):  # the run starts them afresh; do not read the last run's
        log.unlink()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
    with open(output.with_suffix(".out"), "wb") as out, open(output.with_suffix(".err"), "wb") as err:
        return subprocess.Popen(
            [PHOENIX, "run", "UVES_ECHELLE", NIGHT, "--mode", "COMPLETE", "--archive", str(archive), "--data",
             str(data), "--json", "--processors", "1"],
            env=env, stdout=out, stderr=err, start_new_session=True,
        )


def wait_for_log(run: subprocess.Popen[bytes], data: Path, name: str, text: str, count: int = 1,
                 timeout_seconds: float = 300) -> None:
    """Until the log of child `name` of this run holds `text` `count` times."""
    log = data / "logs" / f"{name}.log"
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        assert run.poll() is None, f"phoenix run exited early ({run.returncode})"
        if log.exists() and log.read_text(errors="replace").count(text) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"{name} did not log {text!r} {count} time(s) within {timeout_seconds:.0f} s")


def descendants(pid: int) -> set[int]:
    """Every living process below `pid` (children, their recipes, the broker's JVM)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    living = set()
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                living.add(pid)
        except OSError:
            pass
    return living


def kill_and_check_nothing_is_left(run: subprocess.Popen[bytes], whole_group: bool) -> int:
    children = descendants(run.pid)
    assert len(children) >= 7, f"broker, archive server and five services run below phoenix run: {children}"
    if whole_group:
        os.killpg(run.pid, signal.SIGKILL)
    else:
        os.kill(run.pid, signal.SIGKILL)
    run.wait(timeout=10)
    deadline = time.monotonic() + GONE_WITHIN_SECONDS
    while alive(children) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = {pid: Path(f"/proc/{pid}/cmdline").read_bytes()[:120] for pid in alive(children)}
    assert not left, f"left running {GONE_WITHIN_SECONDS} s after the kill: {left}"
    return len(children)


def kill_one_service(run: subprocess.Popen[bytes], name: str) -> None:
    for pid in descendants(run.pid):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if command[-2:] == [b"service", name.encode()] or command[-3:-1] == [b"service", name.encode()]:
            os.kill(pid, signal.SIGKILL)
            return
    raise AssertionError(f"no {name} process below phoenix run")


def test_a_run_killed_twice_resumes_to_every_ab_final_without_duplicates(blue_archive: Path, tmp_path: Path) -> None:
    """The small night, blue arm only: 6 ABs in COMPLETE mode."""
    data = tmp_path / "data"
    first = start_run(blue_archive, data, tmp_path / "first")
    try:
        wait_for_log(first, data, "processor", RECIPE_STARTED, count=2)
        kill_and_check_nothing_is_left(first, whole_group=False)

        second = start_run(blue_archive, data, tmp_path / "second")
        wait_for_log(second, data, "processor", RECIPE_STARTED)
        kill_and_check_nothing_is_left(second, whole_group=True)

        third = start_run(blue_archive, data, tmp_path / "third")
        wait_for_log(third, data, "qc", "consuming")
        kill_one_service(third, "qc")
        assert third.wait(timeout=600) == 0, (tmp_path / "third.err").read_text()[-3000:]
    finally:
        for run in (first, *(r for r in (locals().get("second"), locals().get("third")) if r)):
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)

    summary = json.loads((tmp_path / "third.out").read_text())
    states = {ab["ab_id"]: ab["state"] for ab in summary["abs"]}
    assert len(states) == 6 and set(states.values()) == {"INGESTED"}, states
    errors = (tmp_path / "third.err").read_text()
    assert "qc stopped (exit status -9); restarting it (1 of 3); its log:" in errors, errors[-2000:]
    assert_no_duplicate_product(data / "phoenix.db")


def assert_no_duplicate_product(database: Path) -> None:
    with sqlite3.connect(database) as connection:
        current = connection.execute(
            "SELECT lineage_key, count(*) FROM products WHERE status = 'CURRENT' GROUP BY lineage_key HAVING count(*) > 1"
        ).fetchall()
        same_file = connection.execute(
            "SELECT ab_id, sha256, count(*) FROM products GROUP BY ab_id, lineage_key, sha256 HAVING count(*) > 1"
        ).fetchall()
        products = connection.execute("SELECT count(*) FROM products WHERE status = 'CURRENT'").fetchone()[0]
    assert not current and not same_file, (current, same_file)
    assert products >= 1, "the science AB was ingested"
