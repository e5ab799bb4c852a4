"""A real processor context (esorex backend, job store, file store) under tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.processor.service import lifespan
from shared.bus.runtime import ServiceStart
from tests.support.bus import fast_runtime


@pytest.fixture
async def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PHOENIX_DATA_DIR", str(tmp_path / "data"))
    async with lifespan(ServiceStart("processor", fast_runtime())) as context:
        yield context


def esorex_processes_in(folder: Path) -> list[int]:
    """Pids of running processes whose current directory is inside `folder`."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cwd = (proc / "cwd").resolve()
        except OSError:
            continue
        if cwd.is_relative_to(folder.resolve()):
            pids.append(int(proc.name))
    return pids
