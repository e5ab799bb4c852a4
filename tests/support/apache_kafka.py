"""A real single-node Apache Kafka (KRaft, broker + controller) for the tests.

Runs the jars that `deploy/setup/kafka.sh` (`make setup`) fetched from Maven Central, with
Java 17, on free 127.0.0.1 ports, in a folder of its own. Ports and data survive `stop()`
and `restart()`, so clients reconnect to the same address and find their topics and
committed offsets again.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from tests.support.servers import ServerProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
KAFKA_POM = REPO_ROOT / "deploy" / "setup" / "kafka" / "pom.xml"
# Large enough for the 5 MB payloads the tests send, with room for batch overhead.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024

LOG4J2_PROPERTIES = """\
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""


class KafkaNotInstalled(RuntimeError):
    """The Kafka jars are missing: `make setup` (deploy/setup/kafka.sh) fetches them."""


class KafkaStartError(RuntimeError):
    """The broker did not start or did not answer in time; the message ends with its log."""


@dataclass(frozen=True)
class SaslUser:
    """A SASL/PLAIN user the broker accepts on its SASL_PLAINTEXT listener."""

    username: str
    password: str

    def __post_init__(self) -> None:
        # Both go unescaped into the JAAS line of server.properties.
        for value in (self.username, self.password):
            if not re.fullmatch(r"[\w.@+-]+", value):
                raise ValueError(
                    f"SASL test user names and passwords are limited to letters, digits and . @ + -: {value!r}"
                )


def kafka_version() -> str:
    """The Kafka version deploy/setup/kafka.sh fetches (declared once, in its pom)."""
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", KAFKA_POM.read_text())
    if match is None:
        raise KafkaNotInstalled(f"no <kafka.version> in {KAFKA_POM}")
    return match.group(1)


def kafka_libs() -> Path:
    """The folder of Kafka's jars: $PHOENIX_KAFKA_HOME/libs or .cache/kafka-<version>/libs."""
    version = kafka_version()
    home = Path(os.environ.get("PHOENIX_KAFKA_HOME") or REPO_ROOT / ".cache" / f"kafka-{version}")
    libs = home / "libs"
    if not (libs / ".complete").is_file() or not (libs / f"kafka_2.13-{version}.jar").is_file():
        raise KafkaNotInstalled(
            f"Apache Kafka {version} jars are not in {libs}: run `make setup` (or `bash deploy/setup/kafka.sh`) first"
        )
    return libs


def java_binary() -> str:
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise KafkaNotInstalled("no `java` found (Java 17 is needed): run `make setup`")
    return java


def free_ports(count: int) -> list[int]:
    """Distinct free TCP ports on 127.0.0.1 (held open together so none repeats)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def new_cluster_id() -> str:
    """A Kafka cluster id: a random UUID in URL-safe base64, not starting with '-'."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def port_accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def answers_metadata(bootstrap_servers: str, timeout_seconds: float, **client_options: object) -> bool:
    """True if the broker answers a metadata request (list of topics) within the timeout.

    Runs its own event loop in a worker thread, so it also works when called from an async test.
    """

    async def probe() -> None:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=bootstrap_servers,
            request_timeout_ms=int(timeout_seconds * 1000),
            **client_options,
        )
        try:
            await asyncio.wait_for(admin.start(), timeout_seconds)
            await asyncio.wait_for(admin.list_topics(), timeout_seconds)
        finally:
            await admin.close()

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        try:
            pool.submit(asyncio.run, probe()).result(timeout=2 * timeout_seconds + 5)
            return True
        except Exception:  # noqa: BLE001 - any failure means "not answering yet"
            return False


class ApacheKafka(ServerProcess):
    """One KRaft node (process.roles=broker,controller) in `work_dir`.

    `bootstrap_servers` is the PLAINTEXT listener; with `sasl_users`, a SASL_PLAINTEXT
    listener (mechanism PLAIN) at `sasl_bootstrap_servers` accepts those users.
    """

    def __init__(
        self,
        work_dir: Path,
        *,
        sasl_users: tuple[SaslUser, ...] = (),
        heap: str = "512m",
        libs: Path | None = None,
    ) -> None:
        self.libs = libs or kafka_libs()
        self.java = java_binary()
        self.work_dir = work_dir
        self.sasl_users = sasl_users
        self.heap = heap
        self.data_dir = work_dir / "data"
        self.log_path = work_dir / "kafka.log"
        self.config_path = work_dir / "server.properties"
        self.log4j_path = work_dir / "log4j2.properties"
        self.port, self.controller_port, self.sasl_port = free_ports(3)
        self.process: subprocess.Popen[bytes] | None = None
        work_dir.mkdir(parents=True, exist_ok=True)
        self._write_config()

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def sasl_bootstrap_servers(self) -> str:
        if not self.sasl_users:
            raise ValueError("this broker was started without SASL users")
        return f"127.0.0.1:{self.sasl_port}"

    def start(self, timeout_seconds: float = 90) -> None:
        """Format storage on first start, launch the JVM, return once clients can use it."""
        if self.running:
            raise RuntimeError(f"Kafka at {self.bootstrap_servers} is already running")
        if not (self.data_dir / "meta.properties").exists():
            self._format_storage()
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self._java_command("kafka.Kafka", str(self.config_path)),
                cwd=self.work_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_seconds
        self._wait_until(deadline, "answer metadata requests", self._answers_metadata)
        # Kafka 4 answers metadata before its group coordinator has loaded the committed
        # offsets; an OffsetFetch in that gap returns no offset at all rather than an error.
        self._wait_until(deadline, "load committed offsets", lambda: self._offsets_loaded(log_offset))

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

    def _java_command(self, main_class: str, *args: str) -> list[str]:
        return [
            self.java,
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            # C1 only: starts about 1.3 s sooner (about 2.7 s instead of 4 s), plenty for test loads.
            "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.log4j_path}",
            "-cp",
            str(self.libs / "*"),
            main_class,
            *args,
        ]

    def _format_storage(self) -> None:
        result = subprocess.run(
            self._java_command(
                "kafka.tools.StorageTool", "format", "-t", new_cluster_id(), "-c", str(self.config_path)
            ),
            cwd=self.work_dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise KafkaStartError(
                f"kafka-storage format failed ({result.returncode}):\n{(result.stdout + result.stderr)[-4000:]}"
            )

    def _wait_until(self, deadline: float, what: str, condition: Callable[[], bool]) -> None:
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                code = None if self.process is None else self.process.returncode
                raise KafkaStartError(f"Kafka exited ({code}) while starting; log {self.log_path}:\n{self.log_tail()}")
            if condition():
                return
            time.sleep(0.1)
        self.kill()
        raise KafkaStartError(
            f"Kafka on {self.bootstrap_servers} did not {what} in time; log {self.log_path}:\n{self.log_tail()}"
        )

    def _answers_metadata(self) -> bool:
        # A plain connect first keeps aiokafka from logging a refused connection per try.
        return port_accepts("127.0.0.1", self.port) and answers_metadata(self.bootstrap_servers, timeout_seconds=2)

    def _offsets_loaded(self, log_offset: int) -> bool:
        """True once every __consumer_offsets partition on disk was loaded after this run started.

        Only loads logged after "Kafka Server started" count: after a crash the new process
        can load them once, then unload and reload them when the controller fences the
        crashed incarnation.
        """
        partitions = {path.name for path in self.data_dir.glob("__consumer_offsets-*") if path.is_dir()}
        with open(self.log_path, "rb") as log:
            log.seek(log_offset)
            this_run = log.read().decode(errors="replace")
        started_at = this_run.find("Kafka Server started")
        if started_at < 0:
            return False
        loaded = set(re.findall(r"Finished loading of metadata from (__consumer_offsets-\d+)", this_run[started_at:]))
        return partitions <= loaded

    def _write_config(self) -> None:
        self.config_path.write_text("".join(f"{key}={value}\n" for key, value in self._properties().items()))
        self.log4j_path.write_text(LOG4J2_PROPERTIES)

    def _properties(self) -> dict[str, str]:
        listeners = {"PLAINTEXT": self.port, "CONTROLLER": self.controller_port}
        if self.sasl_users:
            listeners["SASL_PLAINTEXT"] = self.sasl_port
        advertised = {name: port for name, port in listeners.items() if name != "CONTROLLER"}
        properties = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listeners": ",".join(f"{name}://127.0.0.1:{port}" for name, port in listeners.items()),
            "advertised.listeners": ",".join(f"{name}://127.0.0.1:{port}" for name, port in advertised.items()),
            # Listener names double as their security protocol, except the controller's.
            "listener.security.protocol.map": ",".join(
                f"{name}:{'PLAINTEXT' if name == 'CONTROLLER' else name}" for name in listeners
            ),
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "5",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # After a crash the controller waits out the dead incarnation's session before the
            # restarted broker may join: 9 s by default, kept short for kill-and-restart tests.
            "broker.session.timeout.ms": "4000",
            "broker.heartbeat.interval.ms": "1000",
            "message.max.bytes": str(MAX_MESSAGE_BYTES),
            "replica.fetch.max.bytes": str(MAX_MESSAGE_BYTES),
        }
        if self.sasl_users:
            properties |= self._sasl_properties()
        return properties

    def _sasl_properties(self) -> dict[str, str]:
        users = " ".join(f'user_{user.username}="{user.password}"' for user in self.sasl_users)
        return {
            "sasl.enabled.mechanisms": "PLAIN",
            "listener.name.sasl_plaintext.plain.sasl.jaas.config": (
                f"org.apache.kafka.common.security.plain.PlainLoginModule required {users};"
            ),
        }
