"""`phoenix service NAME`: run one service until SIGTERM/SIGINT.

NAME is a service of the `phoenix.services` entry-point group (fetcher, processor, qc,
certifier, ingestor) or a `module:attribute` path to any ServiceSpec.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import signal
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from shared.errors import ConfigError, TransientError

if TYPE_CHECKING:
    from shared.bus.runtime import ServiceRunner, ServiceSpec

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    names = ", ".join(sorted(available_services()))
    parser = subparsers.add_parser(
        "service",
        help=f"run one service ({names})",
        description="Bootstrap servers come from PHOENIX_KAFKA_BOOTSTRAP_SERVERS, "
        "the metrics port from PHOENIX_METRICS_PORT.",
    )
    parser.add_argument("name", help=f"{names}, or module:attribute of a ServiceSpec")
    parser.add_argument("--group", default=None, help="consumer group (default: the service name)")
    parser.set_defaults(run=run, serves=True)


def available_services() -> dict[str, object]:
    return {ep.name: ep for ep in entry_points(group="phoenix.services")}


def load_service(name: str) -> ServiceSpec:
    from shared.bus.runtime import ServiceSpec

    if ":" in name:
        module, attribute = name.split(":", 1)
        spec = getattr(importlib.import_module(module), attribute)
    else:
        entry = available_services().get(name)
        if entry is None:
            raise ConfigError(f"unknown service {name!r}; known: {', '.join(sorted(available_services()))}")
        spec = entry.load()  # type: ignore[attr-defined]
    if not isinstance(spec, ServiceSpec):
        raise ConfigError(f"{name} is not a ServiceSpec")
    return spec


def run(args: argparse.Namespace) -> int:
    from shared.bus.runtime import ServiceRunner
    from shared.settings import KafkaSettings, RuntimeSettings, load_settings

    spec = load_service(args.name)
    kafka = load_settings(KafkaSettings)
    runtime = load_settings(RuntimeSettings)
    try:
        asyncio.run(serve(ServiceRunner(spec, kafka, runtime, group_id=args.group)))
    except TransientError as error:
        log.error("%s", error)
        return 1
    return 0


async def serve(runner: ServiceRunner) -> None:
    """Run a service with its telemetry server until a stop signal."""
    from shared.telemetry import TelemetryServer

    runner.load_settings()
    loop = asyncio.get_running_loop()
    supervisor = os.getppid()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: runner.request_stop(supervisor_gone=os.getppid() != supervisor))
    telemetry = TelemetryServer(runner.runtime.metrics_host, runner.runtime.metrics_port, lambda: runner.ready)
    await telemetry.start()
    try:
        await runner.run()
    finally:
        await telemetry.stop()
