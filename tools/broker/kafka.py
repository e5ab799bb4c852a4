"""Apache Kafka on one machine: a single KRaft node (broker and controller in one JVM).

It runs the jars that `make setup` (deploy/setup/kafka.sh) fetched from Maven Central
($PHOENIX_KAFKA_HOME/libs, else .cache/kafka-<version>/libs in the repo; fetched on first use
when missing) with Java 17 and a bounded heap. Its message log lives in a folder of its own
(`<data>/broker/` for `phoenix broker` and `phoenix run`): storage is formatted once, so a
restart finds every topic, message and committed offset again. The JVM dies with the
process that started it (see tools/processes.py).
"""

from __future__ import annotations

import base64
import logging
import os
import re
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Self

from shared.errors import ConfigError
from tools.processes import kill_group, start_child, stop_group

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
KAFKA_POM = REPO_ROOT / "deploy" / "setup" / "kafka" / "pom.xml"
FETCH_SCRIPT = REPO_ROOT / "deploy" / "setup" / "kafka.sh"
HEAP = "512m"
# Room for the largest dead letter the runtime writes (a 1 MB input, base64-encoded) and the
# 5 MB payloads of the tests, with batch overhead.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
START_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 30

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


class KafkaStartError(ConfigError):
    """The broker did not start or did not answer in time; the message names its log."""


def kafka_version() -> str:
    """The Kafka version deploy/setup/kafka.sh fetches (declared once, in its pom)."""
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", KAFKA_POM.read_text())
    if match is None:
        raise ConfigError(f"no <kafka.version> in {KAFKA_POM}")
    return match.group(1)


def kafka_libs() -> Path:
    """The folder of Kafka's jars, fetched now (once) if it is missing."""
    version = kafka_version()
    home = Path(os.environ.get("PHOENIX_KAFKA_HOME") or REPO_ROOT / ".cache" / f"kafka-{version}")
    libs = home / "libs"
    if not _complete(libs, version):
        _fetch(libs, version)
    return libs


def _complete(libs: Path, version: str) -> bool:
    return (libs / ".complete").is_file() and (libs / f"kafka_2.13-{version}.jar").is_file()


def _fetch(libs: Path, version: str) -> None:
    log.warning("Apache Kafka %s is not in %s yet: fetching it from Maven Central (once, about a minute) ...",
                version, libs)
    if shutil.which("mvn") is None:
        raise ConfigError(f"Apache Kafka {version} is not in {libs} and `mvn` is missing to fetch it: run `make setup`")
    result = subprocess.run(["bash", str(FETCH_SCRIPT)], capture_output=True, text=True, timeout=900)
    if result.returncode != 0 or not _complete(libs, version):
        raise ConfigError(f"could not fetch Apache Kafka {version} into {libs} ({result.stderr.strip()[-300:]}): "
                          "check the network and run `make setup`")


def java_binary() -> str:
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).exists():
        raise ConfigError("no `java` found (Java 17 is needed): run `make setup`")
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


def free_port() -> int:
    return free_ports(1)[0]


def port_accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def new_cluster_id() -> str:
    """A Kafka cluster id: a random UUID in URL-safe base64, not starting with '-'."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class KafkaBroker:
    """One KRaft node on `host` (127.0.0.1 unless a test puts it elsewhere) whose files live in `folder`.

    `folder/log/` holds the message log, `folder/server.properties` the configuration;
    the JVM's own output goes to `output` (default `folder/kafka.log`). Ports are chosen
    once per object, so `restart()` comes back at the same address.
    """

    def __init__(self, folder: Path, port: int | None = None, output: Path | None = None, heap: str = HEAP,
                 host: str = "127.0.0.1") -> None:
        self.host = host
        self.folder = folder
        self.log_dir = folder / "log"
        self.log_path = output or folder / "kafka.log"
        self.config_path = folder / "server.properties"
        self.log4j_path = folder / "log4j2.properties"
        self.pid_path = folder / "broker.pid"
        self.heap = heap
        self.port, self.controller_port = (port, free_port()) if port else free_ports(2)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout_seconds: float = START_TIMEOUT_SECONDS) -> Self:
        """Format the storage on first use, launch the JVM, return once clients can use it."""
        if self.running:
            raise RuntimeError(f"Kafka at {self.bootstrap_servers} is already running")
        java, libs = java_binary(), kafka_libs()
        self.folder.mkdir(parents=True, exist_ok=True)
        self._wait_for_previous_broker()
        if port_accepts(self.host, self.port):
            raise ConfigError(f"port {self.port} is already in use: choose another with --port")
        self.config_path.write_text("".join(f"{key}={value}\n" for key, value in self.properties().items()))
        self.log4j_path.write_text(LOG4J2_PROPERTIES)
        if not (self.log_dir / "meta.properties").exists():
            self._format_storage(java, libs)
        log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.process = start_child(self._java_command(java, libs, "kafka.Kafka", str(self.config_path)),
                                   self.log_path, cwd=self.folder)
        self.pid_path.write_text(str(self.process.pid))
        deadline = time.monotonic() + timeout_seconds
        self._wait_until(deadline, "start", lambda: self._started(log_offset) and port_accepts(self.host, self.port))
        # Kafka answers metadata before its group coordinator has loaded the committed
        # offsets; an OffsetFetch in that gap returns no offset at all rather than an error.
        self._wait_until(deadline, "load committed offsets", lambda: self._offsets_loaded(log_offset))
        return self

    def stop(self, timeout_seconds: float = STOP_TIMEOUT_SECONDS) -> None:
        """Clean shutdown (SIGTERM), SIGKILL if it overruns."""
        if self.process is not None:
            stop_group(self.process, timeout_seconds)

    def kill(self) -> None:
        """Crash it: SIGKILL, no clean shutdown (the message log stays)."""
        if self.process is not None:
            kill_group(self.process)

    def restart(self) -> None:
        self.stop()
        self.start()

    def wait(self) -> int:
        assert self.process is not None
        return self.process.wait()

    def log_tail(self, characters: int = 4000) -> str:
        if not self.log_path.exists():
            return "(no log yet)"
        return self.log_path.read_text(errors="replace")[-characters:]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def listeners(self) -> dict[str, int]:
        """Listener name → port; every name but CONTROLLER doubles as its security protocol."""
        return {"PLAINTEXT": self.port, "CONTROLLER": self.controller_port}

    def properties(self) -> dict[str, str]:
        listeners = self.listeners()
        advertised = {name: port for name, port in listeners.items() if name != "CONTROLLER"}
        return {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{self.host}:{self.controller_port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listeners": ",".join(f"{name}://{self.host}:{port}" for name, port in listeners.items()),
            "advertised.listeners": ",".join(f"{name}://{self.host}:{port}" for name, port in advertised.items()),
            "listener.security.protocol.map": ",".join(
                f"{name}:{'PLAINTEXT' if name == 'CONTROLLER' else name}" for name in listeners
            ),
            "log.dirs": str(self.log_dir),
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
            # restarted broker may join: 9 s by default, kept short so a rerun resumes quickly.
            "broker.session.timeout.ms": "4000",
            "broker.heartbeat.interval.ms": "1000",
            "message.max.bytes": str(MAX_MESSAGE_BYTES),
            "replica.fetch.max.bytes": str(MAX_MESSAGE_BYTES),
        }

    def _java_command(self, java: str, libs: Path, main_class: str, *args: str) -> list[str]:
        return [
            java,
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            # C1 only: starts about 1.3 s sooner, plenty for one machine's load.
            "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.log4j_path}",
            "-cp",
            str(libs / "*"),
            main_class,
            *args,
        ]

    def _format_storage(self, java: str, libs: Path) -> None:
        result = subprocess.run(
            self._java_command(java, libs, "kafka.tools.StorageTool", "format", "-t", new_cluster_id(),
                               "-c", str(self.config_path)),
            cwd=self.folder, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
        )
        if result.returncode != 0:
            raise KafkaStartError(f"formatting the Kafka storage in {self.log_dir} failed ({result.returncode}):\n"
                                  f"{(result.stdout + result.stderr)[-4000:]}")

    def _wait_for_previous_broker(self, timeout_seconds: float = STOP_TIMEOUT_SECONDS) -> None:
        """A broker of a killed run may still be shutting down on this folder: wait for it to go."""
        pid = _alive_broker_pid(self.pid_path)
        deadline = time.monotonic() + timeout_seconds
        while pid is not None and time.monotonic() < deadline:
            time.sleep(0.2)
            pid = _alive_broker_pid(self.pid_path)
        if pid is not None:
            raise ConfigError(f"another Kafka broker (pid {pid}) still uses {self.folder}: stop it first")

    def _wait_until(self, deadline: float, what: str, condition) -> None:
        while time.monotonic() < deadline:
            if not self.running:
                code = None if self.process is None else self.process.returncode
                raise KafkaStartError(f"Kafka exited ({code}) while starting; log {self.log_path}:\n{self.log_tail()}")
            if condition():
                return
            time.sleep(0.1)
        self.kill()
        raise KafkaStartError(f"Kafka on {self.bootstrap_servers} did not {what} in time; "
                              f"log {self.log_path}:\n{self.log_tail()}")

    def _this_run(self, log_offset: int) -> str:
        with open(self.log_path, "rb") as output:
            output.seek(log_offset)
            return output.read().decode(errors="replace")

    def _started(self, log_offset: int) -> bool:
        return "Kafka Server started" in self._this_run(log_offset)

    def _offsets_loaded(self, log_offset: int) -> bool:
        """True once every __consumer_offsets partition on disk was loaded after this run started.

        Only loads logged after "Kafka Server started" count: after a crash the new process
        can load them once, then unload and reload them when the controller fences the
        crashed incarnation.
        """
        partitions = {path.name for path in self.log_dir.glob("__consumer_offsets-*") if path.is_dir()}
        this_run = self._this_run(log_offset)
        started_at = this_run.find("Kafka Server started")
        if started_at < 0:
            return False
        loaded = set(re.findall(r"Finished loading of metadata from (__consumer_offsets-\d+)", this_run[started_at:]))
        return partitions <= loaded


def _alive_broker_pid(pid_path: Path) -> int | None:
    try:
        pid = int(pid_path.read_text())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"kafka.Kafka" in command else None
