"""`phoenix service` run as a real process for tests, with assertion-friendly failures."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tools.processes import PHOENIX, ChildProcess

REPO_ROOT = str(Path(__file__).resolve().parents[2])

__all__ = ["PHOENIX", "ServiceProcess", "running_portal"]


class ServiceProcess(ChildProcess):
    def __init__(self, name: str, env: dict[str, str], log_dir: Path, label: str | None = None,
                 prefix: Sequence[str] = ()) -> None:
        self.label = label or name.replace(":", "_").replace(".", "_")
        # PYTHONPATH lets `phoenix service tests.support.specs:NAME` import test specs.
        super().__init__(["service", name], {"PYTHONPATH": REPO_ROOT, **env}, log_dir / f"{self.label}.log", prefix)

    def wait_for_log(self, text: str, timeout_seconds: float) -> str:
        try:
            return super().wait_for_log(text, timeout_seconds)
        except (RuntimeError, TimeoutError) as error:
            raise AssertionError(str(error)) from None


@contextmanager
def running_portal(data: Path, tmp_path: Path) -> Iterator[str]:
    """`phoenix portal` on the data folder a `phoenix run` filled; yields its base URL."""
    portal = ChildProcess(["portal", "--data", str(data), "--port", "0"], {}, tmp_path / "portal.log")
    try:
        line = portal.wait_for_log("portal=", 60)
        yield line.split("portal=", 1)[1].strip()
    finally:
        portal.stop()
