"""Child processes that die with their parent: `phoenix` sub-commands (services, the archive
server) and the Kafka broker, each in a process group of its own.

Every child asks the kernel for SIGTERM when the process that started it dies
(PR_SET_PDEATHSIG), so a supervisor killed with SIGKILL leaves no child behind: each one
shuts down as if stopped by hand. Their own process group keeps a Ctrl-C on the terminal
for the supervisor alone, which then stops them in order.

The kernel ties PR_SET_PDEATHSIG to the *thread* that started the child: start children from
a thread that lives as long as they should (the main thread; `asyncio.to_thread` workers live
until the event loop's executor shuts down).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

PHOENIX = str(Path(sys.executable).with_name("phoenix"))
PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> Callable[[], None]:
    """A `preexec_fn` that has the child receive SIGTERM when `parent_pid` dies."""

    def preexec() -> None:
        os.setsid()
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent_pid:  # the parent died before the request took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def start_child(command: Sequence[str], log_path: Path, env: dict[str, str] | None = None,
                cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """`command` with its output appended to `log_path`, dying with this process."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            list(command), env={**os.environ, **(env or {})}, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, preexec_fn=die_with_parent(os.getpid()),
        )


def stop_group(process: subprocess.Popen[bytes], timeout_seconds: float) -> int:
    """SIGTERM to the child's process group, SIGKILL after the timeout; its exit status."""
    if process.poll() is None:
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=timeout_seconds)
        except subprocess.TimeoutExpired:
            kill_group(process)
    return process.wait()


def kill_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        _signal_group(process, signal.SIGKILL)
    process.wait(timeout=30)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass


class ChildProcess:
    """A `phoenix` sub-command run as a child with its output in a log file; `restart` runs it again."""

    def __init__(self, args: Sequence[str], env: dict[str, str], log_path: Path, prefix: Sequence[str] = ()) -> None:
        """`prefix` runs it through a command that then executes it (`ip netns exec NS`, in tests)."""
        self.args = list(args)
        self.env = env
        self.log_path = log_path
        self.prefix = list(prefix)
        self.restarts = 0
        self.process = start_child([*self.prefix, PHOENIX, *self.args], log_path, env)

    @property
    def name(self) -> str:
        return self.log_path.stem

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def wait_for_log(self, text: str, timeout_seconds: float, since: int = 0) -> str:
        """The first log line (after character `since`) containing `text`; fails if the process exits or time runs out."""
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            for line in self.log[since:].splitlines():
                if text in line:
                    return line
            if not self.running:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}) before logging "
                                   f"{text!r}; log {self.log_path}:\n{self.log[-3000:]}")
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} did not log {text!r} within {timeout_seconds:.0f} s; "
                           f"log {self.log_path}:\n{self.log[-3000:]}")

    def restart(self) -> int:
        """Run the command again (after it died); the log offset where the new run's output starts."""
        since = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.restarts += 1
        self.process = start_child([*self.prefix, PHOENIX, *self.args], self.log_path, self.env)
        return since

    def kill(self) -> None:
        kill_group(self.process)

    def stop(self, timeout_seconds: float = 30) -> int:
        """SIGTERM, then SIGKILL after the timeout; the exit status."""
        return stop_group(self.process, timeout_seconds)
