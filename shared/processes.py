"""Child processes of `phoenix` (services, the archive server), each in its own process group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

PHOENIX = str(Path(sys.executable).with_name("phoenix"))


class ChildProcess:
    """A `phoenix` sub-command run as a process with its output in a log file."""

    def __init__(self, args: Sequence[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [PHOENIX, *args], env={**os.environ, **env}, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def wait_for_log(self, text: str, timeout_seconds: float) -> str:
        """The first log line containing `text`; fails if the process exits or time runs out."""
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            for line in self.log.splitlines():
                if text in line:
                    return line
            if not self.running:
                raise RuntimeError(f"{self.log_path.stem} exited ({self.process.returncode}) before logging "
                                   f"{text!r}:\n{self.log[-3000:]}")
            time.sleep(0.1)
        raise TimeoutError(f"{self.log_path.stem} did not log {text!r} within {timeout_seconds:.0f} s:\n{self.log[-3000:]}")

    def kill(self) -> None:
        if self.running:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout_seconds: float = 30) -> int:
        """SIGTERM, then SIGKILL after the timeout; the exit status."""
        if self.running:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_seconds)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()
        return self.process.returncode
