"""`phoenix` as a person meets it, run as a subprocess in a scratch folder: bad arguments are one
line naming them (exit 2), `status` names the database it reads and never creates one, shows the
requests that finished, commands start fast and say nothing at INFO level unless they serve."""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import pytest

from shared.archive import ArchiveDatabase, upgrade_to_head
from shared.archive.ledger import record_request, set_request_state
from shared.archive.settings import sqlite_url
from shared.cli import command_names
from shared.contracts import DateRequested, ProcessingMode
from shared.lifecycle import RequestState

PHOENIX = [sys.executable, "-m", "shared.cli"]
# CPU seconds of the command's process (wall time on a shared 2-core machine says more about the
# neighbours than about phoenix); generous, so only a heavy import at start-up fails it.
START_CPU_SECONDS = 2.0


def phoenix(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
    return subprocess.run([*PHOENIX, *args], cwd=cwd, env={**clean, **(env or {})}, capture_output=True,
                          text=True, timeout=120)


def cpu_seconds_of(command) -> tuple[subprocess.CompletedProcess[str], float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = command()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return result, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


@pytest.mark.parametrize(("args", "named"), [
    (("request", "UVES_ECHELLE", "2015-13-45"), "argument night: '2015-13-45' is not a night"),
    (("request", "UVES_ECHELLE", "2015-02-23", "--to", "2015-02-20"), "argument --to: 2015-02-20 is before"),
    (("request", "UVES_ECHELLE", "2015-02-23", "--mode", "FAST"), "argument --mode: 'FAST' is not one of IDP"),
    (("request", "UVES_ECHELLE", "2015-02-23", "--priority", "11"), "argument --priority"),
    (("campaign", "UVES_ECHELLE", "--from", "2015-02-23", "--to", "2015-02-01"), "argument --to: 2015-02-01"),
    (("campaign", "UVES_ECHELLE", "--from", "23/02/2015", "--to", "2015-02-24"), "argument --from: '23/02/2015'"),
    (("token", "create", "--scope", "read", "--expires-days", "-1"), "argument --expires-days: -1 days"),
    (("token", "create", "--scope", "read", "--expires-days", "0"), "argument --expires-days: 0 days"),
    (("token", "create", "--scope", "root"), "argument --scope: invalid choice: 'root'"),
    (("abs", "UVES_ECHELLE", "2015-02-30", "--archive", "."), "2015-02-30"),
    (("run", "UVES_ECHELLE", "2015-13-45", "--archive", "."), "argument night: '2015-13-45' is not a night"),
    (("run", "UVES_ECHELLE", "2015-02-23", "--to", "2015-02-20", "--archive", "."), "argument --to: 2015-02-20"),
    (("run", "UVES_ECHELLE", "2015-02-23", "--mode", "FAST", "--archive", "."), "argument --mode: 'FAST'"),
    (("no-such-command",), "invalid choice: 'no-such-command'"),
])
def test_a_bad_argument_is_one_line_naming_it(tmp_path: Path, args: tuple[str, ...], named: str) -> None:
    result = phoenix(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and named in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert list(tmp_path.iterdir()) == [], "nothing is created by a refused command"


def test_status_without_a_database_names_it_and_creates_nothing(tmp_path: Path) -> None:
    result = phoenix("status", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"phoenix: no archive database at {tmp_path / 'data' / 'phoenix.db'}: set PHOENIX_DATA_DIR or "
        "PHOENIX_DATABASE_URL to the one to read, or create it with `phoenix db upgrade`")
    assert not (tmp_path / "data").exists()


def test_status_names_its_database_and_shows_finished_requests(tmp_path: Path) -> None:
    data = tmp_path / "demo" / "data"
    request_id = asyncio.run(_finished_request(data))
    before = (data / "phoenix.db").stat().st_mtime_ns
    result, cpu = cpu_seconds_of(lambda: phoenix("status", cwd=tmp_path, env={"PHOENIX_DATA_DIR": str(data)}))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"archive database: {data / 'phoenix.db'}\n")
    assert "finished requests" in result.stdout
    [line] = [line for line in result.stdout.splitlines() if str(request_id) in line]
    assert "DONE" in line and "2015-02-23" in line, "the whole id on one line, with its state"
    assert result.stderr == "", "quiet: no INFO lines (alembic or otherwise)"
    assert (data / "phoenix.db").stat().st_mtime_ns == before, "read only: not migrated"
    assert cpu < START_CPU_SECONDS
    as_json = phoenix("status", "--json", cwd=tmp_path, env={"PHOENIX_DATA_DIR": str(data)})
    assert f'"database": "{data / "phoenix.db"}"' in as_json.stdout and str(request_id) in as_json.stdout


async def _finished_request(data: Path) -> uuid.UUID:
    data.mkdir(parents=True)
    url = sqlite_url(data / "phoenix.db")
    await upgrade_to_head(url)
    request = DateRequested(correlation_id=uuid.uuid4(), instrument_mode="UVES_ECHELLE", night=date(2015, 2, 23),
                            mode=ProcessingMode.COMPLETE)
    async with ArchiveDatabase(url) as db, db.session() as session:
        await record_request(session, request)
        await set_request_state(session, request.request_id, RequestState.FETCHED)
        await set_request_state(session, request.request_id, RequestState.DONE)
    return request.request_id


def test_abs_on_a_night_without_data_fails_with_a_message(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    result = phoenix("abs", "UVES_ECHELLE", "2015-02-23", "--archive", str(archive), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().endswith(f"no AB of UVES_ECHELLE on 2015-02-23: 0 raw file(s) found in {archive}")


@pytest.mark.parametrize("args", [("status", "--help"), ("request", "--help"), ("token", "create", "--help"),
                                  ("db", "--help"), ("schema", "--help"), ("campaign", "--help")])
def test_commands_start_fast(tmp_path: Path, args: tuple[str, ...]) -> None:
    result, cpu = cpu_seconds_of(lambda: phoenix(*args, cwd=tmp_path))
    assert result.returncode == 0 and cpu < START_CPU_SECONDS, (cpu, result.stderr)


HEAVY_MODULES = ("sqlalchemy", "alembic", "astropy", "numpy", "matplotlib", "fastapi", "starlette", "httpx",
                 "aiokafka", "obstore", "prometheus_client", "rich")
"""What no command needs to print its help: each costs a tenth of a second or more to import."""
LOADED_AFTER = """
import contextlib, io, sys
from shared.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    main(sys.argv[1:])
print(" ".join(sorted(sys.modules)))
"""
NOT_FOR_READING = ("sqlalchemy.orm", "sqlalchemy.ext.asyncio", "aiosqlite", "alembic", "shared.archive.models",
                   "shared.contracts", "sqlalchemy.dialects.postgresql")
"""What `phoenix status` and `phoenix review list` on SQLite do without: they read on SQLAlchemy Core."""


def modules_loaded(*args: str, cwd: Path, env: dict[str, str] | None = None) -> set[str]:
    """Every module `phoenix ARGS` has imported when it is done."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
    result = subprocess.run([sys.executable, "-c", LOADED_AFTER, *args], cwd=cwd, env={**clean, **(env or {})},
                            capture_output=True, text=True, timeout=60, check=True)
    return set(result.stdout.split())


@pytest.mark.parametrize("command", [None, *command_names()])
def test_help_imports_no_heavy_module(tmp_path: Path, command: str | None) -> None:
    """`phoenix --help` and `phoenix NAME --help` load only argument parsing: heavy libraries are
    imported inside the functions that use them."""
    args = [command, "--help"] if command else ["--help"]
    loaded = {name.split(".")[0] for name in modules_loaded(*args, cwd=tmp_path)}
    assert not loaded & set(HEAVY_MODULES), f"phoenix {' '.join(args)} imports {sorted(loaded & set(HEAVY_MODULES))}"


@pytest.mark.parametrize("args", [("status",), ("review", "list")])
def test_reading_commands_load_no_orm_or_asyncio(tmp_path: Path, args: tuple[str, ...]) -> None:
    data = tmp_path / "data"
    asyncio.run(_finished_request(data))
    loaded = modules_loaded(*args, cwd=tmp_path, env={"PHOENIX_DATA_DIR": str(data)})
    assert "sqlalchemy.engine" in loaded, "it did read the database"
    assert not loaded & set(NOT_FOR_READING), f"phoenix {' '.join(args)} imports {sorted(loaded & set(NOT_FOR_READING))}"


def test_abs_on_a_folder_starts_no_server_and_reads_no_fits(tmp_path: Path) -> None:
    """The folder's stores are read directly and listings come from their header index: no web
    framework or HTTP client, and astropy, numpy and sqlglot only where a file or query is read."""
    (tmp_path / "archive").mkdir()
    args = ("abs", "UVES_ECHELLE", "2015-02-23", "--archive", "archive")
    loaded = {name.split(".")[0] for name in modules_loaded(*args, cwd=tmp_path)}
    assert not loaded & {"fastapi", "httpx", "uvicorn", "astropy", "numpy", "sqlglot"}, sorted(loaded)


def test_every_command_module_is_named_like_a_command_it_registers() -> None:
    """The convention that lets `phoenix NAME` import one module."""
    import argparse
    import importlib
    import pkgutil
    from importlib.metadata import entry_points

    from shared import commands

    modules = {info.name: importlib.import_module(f"shared.commands.{info.name}")
               for info in pkgutil.iter_modules(commands.__path__)}
    modules.update({entry.name: entry.load() for entry in entry_points(group="phoenix.commands")})
    for name, module in modules.items():
        subparsers = argparse.ArgumentParser().add_subparsers()
        module.register(subparsers)
        assert name in subparsers.choices, f"{module.__name__} does not register {name!r}"


def test_run_writes_a_progress_line_every_few_seconds_off_a_terminal() -> None:
    from tools.run.command import ProgressLines
    from tools.run.progress import Progress

    lines: list[str] = []
    progress = Progress(uuid.UUID(int=7))
    reporter = ProgressLines(lines.append, every_seconds=0.2)
    reporter(progress)
    reporter(progress)
    assert len(lines) == 1 and f"request {uuid.UUID(int=7)}: 0/0 AB(s) final" in lines[0]
    time.sleep(0.25)
    reporter(progress)
    assert len(lines) == 2


def test_run_summary_keeps_every_id_whole_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from rich.console import Console

    from tools.run.command import _report

    ab_id = "UVES_ECHELLE.2015-02-23.SCI_POINT_BLUE.0001.with-a-long-suffix-to-force-wrapping"
    products = ["PHX.2026-12-07T15:00:00.000.1", "PHX.2026-12-07T15:00:00.000.2"]
    result = {"request_id": str(uuid.UUID(int=9)), "request_state": "DONE", "request_reason": "",
              "abs": [{"ab_id": ab_id, "raw_type": "SCI_POINT_BLUE", "state": "INGESTED",
                       "reason": "a long reason " * 10, "product_ids": products}]}
    assert _report(result, False, Console(stderr=True)) == 0
    out = capsys.readouterr().out
    [row] = [line for line in out.splitlines() if ab_id in line]
    assert all(product in row for product in products)


def test_version_loads_no_command(tmp_path: Path) -> None:
    result, cpu = cpu_seconds_of(lambda: phoenix("--version", cwd=tmp_path))
    assert result.returncode == 0 and result.stdout.startswith("phoenix ") and cpu < START_CPU_SECONDS
