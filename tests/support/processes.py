"""`phoenix` commands run as real processes, each in its own process group, with logs kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PHOENIX = str(Path(sys.executable).with_name("phoenix"))
REPO_ROOT = str(Path(__file__).resolve().parents[2])


class ServiceProcess:
    def __init__(self, name: str, env: dict[str, str], log_dir: Path, label: str | None = None) -> None:
        self.label = label or name.replace(":", "_").replace(".", "_")
        self.log_path = log_dir / f"{self.label}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [PHOENIX, "service", name],
            env={**os.environ, "PYTHONPATH": REPO_ROOT, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout_seconds: float) -> None:
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if text in self.log:
                return
            if self.process.poll() is not None:
                raise AssertionError(f"{self.label} exited ({self.process.returncode}) before logging {text!r}:\n{self.log[-3000:]}")
            time.sleep(0.1)
        raise AssertionError(f"{self.label} did not log {text!r} within {timeout_seconds} s:\n{self.log[-3000:]}")

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout_seconds: float = 30) -> int:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_seconds)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()
        return self.process.returncode
