"""The lifecycle the tests' real servers (Apache Kafka, PostgreSQL) share: one child process
with a log file, stopped cleanly or crashed on purpose."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Self


class ServerProcess:
    process: subprocess.Popen[bytes] | None
    log_path: Path

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, characters: int = 4000) -> str:
        if not self.log_path.exists():
            return "(no log yet)"
        return self.log_path.read_text(errors="replace")[-characters:]

    def start(self) -> None:
        raise NotImplementedError

    def kill(self) -> None:
        """Crash it: SIGKILL, no clean shutdown (the data directory stays)."""
        raise NotImplementedError

    def _ask_to_stop(self, process: subprocess.Popen[bytes]) -> None:
        raise NotImplementedError

    def stop(self, timeout_seconds: float = 30) -> None:
        """Clean shutdown; SIGKILL if it overruns."""
        if self.process is None or not self.running:
            return
        self._ask_to_stop(self.process)
        try:
            self.process.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            self.kill()

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
