"""A real S3 server for the tests: s3proxy with its file-system backend.

Runs the jar that `deploy/setup/s3proxy.sh` (`make setup`) fetched from Maven Central, with
Java 17, on a free port, its objects in a folder of its own. The port and the objects survive
`stop()` and `restart()`, so clients find the same bucket again (the outage tests).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from tests.support.servers import ServerProcess
from tools.broker.kafka import free_ports, java_binary, port_accepts

REPO_ROOT = Path(__file__).resolve().parents[2]
S3PROXY_VERSION = "4.1.0"
ACCESS_KEY = "phoenix-test"
SECRET_KEY = "phoenix-test-secret"
REGION = "us-east-1"


class S3ProxyNotInstalled(RuntimeError):
    """The s3proxy jar is missing: `make setup` (deploy/setup/s3proxy.sh) fetches it."""


class S3ProxyStartError(RuntimeError):
    """s3proxy did not start in time; the message ends with its log."""


def s3proxy_jar() -> Path:
    jar = Path(os.environ.get("PHOENIX_S3PROXY_JAR") or REPO_ROOT / ".cache" / f"s3proxy-{S3PROXY_VERSION}.jar")
    if not jar.is_file():
        raise S3ProxyNotInstalled(f"s3proxy {S3PROXY_VERSION} is not at {jar}: run `make setup` (or `bash deploy/setup/s3proxy.sh`)")
    return jar


class S3Proxy(ServerProcess):
    """One s3proxy on `host` (127.0.0.1, or an address of a network namespace the test made,
    entered with `namespace`: the `ip netns exec` command prefix)."""

    def __init__(self, work_dir: Path, *, host: str = "127.0.0.1", port: int | None = None,
                 namespace: tuple[str, ...] = ()) -> None:
        self.jar = s3proxy_jar()
        self.java = java_binary()
        self.work_dir = work_dir
        self.host = host
        self.port = port or free_ports(1)[0]
        self.namespace = namespace
        self.objects_dir = work_dir / "objects"
        self.log_path = work_dir / "s3proxy.log"
        self.config_path = work_dir / "s3proxy.properties"
        self.process: subprocess.Popen[bytes] | None = None
        self.objects_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text("".join(f"{key}={value}\n" for key, value in self._properties().items()))

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def environment(self, bucket: str, prefix: str = "") -> dict[str, str]:
        """What a phoenix service needs to use `bucket` on this server."""
        return {
            "PHOENIX_STORE_URL": f"s3://{bucket}/{prefix}".rstrip("/"),
            "PHOENIX_S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": REGION,
        }

    def create_bucket(self, name: str) -> None:
        """With the file-system backend a bucket is a folder."""
        (self.objects_dir / name).mkdir(exist_ok=True)

    def start(self, timeout_seconds: float = 60) -> None:
        if self.running:
            raise RuntimeError(f"s3proxy at {self.endpoint_url} is already running")
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [*self.namespace, self.java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-jar", str(self.jar),
                 "--properties", str(self.config_path)],
                cwd=self.work_dir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise S3ProxyStartError(f"s3proxy exited ({self.process.returncode}); log {self.log_path}:\n{self.log_tail()}")
            if port_accepts(self.host, self.port):
                return
            time.sleep(0.1)
        self.kill()
        raise S3ProxyStartError(f"s3proxy on {self.endpoint_url} did not start in time:\n{self.log_tail()}")

    def _ask_to_stop(self, process: subprocess.Popen[bytes]) -> None:
        os.killpg(process.pid, signal.SIGTERM)

    def kill(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)

    def _properties(self) -> dict[str, str]:
        return {
            "s3proxy.endpoint": f"http://{self.host}:{self.port}",
            "s3proxy.authorization": "aws-v2-or-v4",
            "s3proxy.identity": ACCESS_KEY,
            "s3proxy.credential": SECRET_KEY,
            "jclouds.provider": "filesystem",
            "jclouds.filesystem.basedir": str(self.objects_dir),
        }
