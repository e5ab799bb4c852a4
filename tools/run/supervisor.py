"""The chain supervisor: the services (any number of replicas each), the local archive server
and the Kafka broker as child processes that die with it, watched, restarted a bounded number
of times, stopped in order. `phoenix run` and the fault harness both run the chain with it.

The topology comes from the services' own declarations: the `phoenix.services` entry points
and their ServiceSpecs (input topics are the handlers' event types, output topics `produces`).
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

from shared.bus.runtime import ServiceSpec
from shared.contracts import TOPICS
from shared.errors import PhoenixError
from tools.broker.kafka import KafkaBroker, free_port
from tools.processes import ChildProcess

log = logging.getLogger(__name__)

START_TIMEOUT_SECONDS = 120


class ChildFailed(PhoenixError):
    """A child of the chain stopped and may not be restarted (again)."""


def service_specs() -> dict[str, ServiceSpec]:
    """The services of the `phoenix.services` entry-point group, in pipeline order."""
    specs = {entry.name: entry.load() for entry in entry_points(group="phoenix.services")}
    order = list(TOPICS)
    return dict(sorted(specs.items(), key=lambda item: min(order.index(t) for t in input_topics(item[1]))))


def input_topics(spec: ServiceSpec) -> list[str]:
    return [event.topic for event in spec.handlers]


def output_topics(spec: ServiceSpec) -> list[str]:
    return [event.topic for event in spec.produces]


@dataclass
class Supervisor:
    """Children of one chain. `group_prefix` isolates consumer groups (`<prefix><service>`);
    a dead child is restarted up to `max_restarts` times by `supervise()`."""

    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    max_restarts: int = 0
    group_prefix: str | None = None
    report: Callable[[str], None] = log.warning
    broker: KafkaBroker | None = None
    replicas: dict[str, list[ChildProcess]] = field(default_factory=lambda: defaultdict(list))
    others: list[ChildProcess] = field(default_factory=list)
    generations: Counter[str] = field(default_factory=Counter)
    restarts: Counter[str] = field(default_factory=Counter)

    # -- starting ------------------------------------------------------------------------

    def start_broker(self, broker: KafkaBroker) -> str:
        """Start the broker (last to stop); its bootstrap servers."""
        self.broker = broker.start()
        return broker.bootstrap_servers

    def start_archive(self, root: Path) -> str:
        """`phoenix archive serve` over `root` on a port kept across restarts; its URL."""
        server = ChildProcess(["archive", "serve", "--root", str(root), "--port", str(free_port())], self.env,
                              self.log_dir / "archive.log")
        self.others.append(server)
        return _started(server, "archive=").split("archive=", 1)[1].strip()

    def start(self, name: str, replicas: int = 1, env: dict[str, str] | None = None, wait: str | None = "consuming",
              ) -> list[ChildProcess]:
        """`replicas` more processes of service `name`; with `wait`, once each has logged it."""
        started = [self._spawn(name, env or {}) for _ in range(replicas)]
        self.replicas[name] += started
        if wait:
            for process in started:
                _started(process, wait)
        return started

    def start_all(self, replicas: dict[str, int] | None = None, env: Callable[[str], dict[str, str]] | None = None,
                  wait: str = "assigned") -> None:
        """Every service (one replica unless `replicas` says more), then wait until each has logged `wait`."""
        started = [process for name in service_specs()
                   for process in self.start(name, (replicas or {}).get(name, 1), env(name) if env else None, None)]
        for process in started:
            _started(process, wait)

    def _spawn(self, name: str, env: dict[str, str]) -> ChildProcess:
        self.generations[name] += 1
        label = name if self.generations[name] == 1 else f"{name}-{self.generations[name]}"
        group = ["--group", self.group(name)] if self.group_prefix is not None else []
        return ChildProcess(["service", name, *group], {**self.env, **env}, self.log_dir / f"{label}.log")

    def group(self, name: str) -> str:
        return f"{self.group_prefix or ''}{name}"

    # -- watching ------------------------------------------------------------------------

    def children(self) -> list[ChildProcess]:
        return [*self.others, *(p for processes in self.replicas.values() for p in processes)]

    def dead(self) -> list[str]:
        return [process.name for process in self.children() if not process.running]

    def supervise(self) -> None:
        """Restart what died, reporting it with its log; raise ChildFailed once a child used up its restarts."""
        if self.broker is not None and not self.broker.running:
            self._restart("broker", self.broker.log_path, self.broker.process.returncode, self.broker.restart)
        for process in self.children():
            if not process.running:
                self._restart(process.name, process.log_path, process.process.returncode, process.restart)

    def _restart(self, name: str, log_path: Path, status: int | None, restart: Callable[[], object]) -> None:
        if self.restarts[name] >= self.max_restarts:
            raise ChildFailed(f"{name} stopped (exit status {status})"
                              f"{f' after {self.max_restarts} restart(s)' if self.max_restarts else ''}; "
                              f"see its log {log_path}")
        self.restarts[name] += 1
        self.report(f"{name} stopped (exit status {status}); restarting it ({self.restarts[name]} of "
                    f"{self.max_restarts}); its log: {log_path}")
        restart()

    # -- stopping ------------------------------------------------------------------------

    def kill(self, name: str, index: int = 0) -> ChildProcess:
        """SIGKILL one replica (its recipes die with it); it leaves the chain."""
        process = self.replicas[name].pop(index)
        process.kill()
        return process

    def terminate(self, name: str, index: int = 0, timeout_seconds: float = 60) -> int:
        """SIGTERM one replica and wait for it to leave; its exit status."""
        return self.replicas[name].pop(index).stop(timeout_seconds)

    def stop_all(self, timeout_seconds: float = 30) -> dict[str, int]:
        """Services from the end of the pipeline back, then the archive server, the broker last; exit statuses."""
        codes = {}
        for name in reversed(list(self.replicas)):
            for process in self.replicas.pop(name):
                codes[process.name] = process.stop(timeout_seconds)
        for process in reversed(self.others):
            codes[process.name] = process.stop(timeout_seconds)
        self.others.clear()
        if self.broker is not None:
            self.broker.stop()
        return codes


def _started(process: ChildProcess, marker: str) -> str:
    try:
        return process.wait_for_log(marker, START_TIMEOUT_SECONDS)
    except (RuntimeError, TimeoutError) as error:
        raise ChildFailed(f"{process.name} did not start; see its log {process.log_path}") from error
