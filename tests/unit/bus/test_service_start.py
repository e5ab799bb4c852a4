"""What the runtime settles before a service touches anything: its concurrency (so the
published gauge is the one it runs with), its settings, and its identity."""

from __future__ import annotations

import os

import pytest

from services.fetcher.service import FetcherContext
from services.processor.service import SERVICE as PROCESSOR
from shared.bus import metrics
from shared.bus.runtime import ServiceRunner
from shared.errors import ConfigError
from shared.settings import KafkaSettings, RuntimeSettings

KAFKA = KafkaSettings(bootstrap_servers="127.0.0.1:1")


def test_the_processor_runs_one_recipe_per_core_and_publishes_that_concurrency(monkeypatch) -> None:
    monkeypatch.delenv("PHOENIX_CONCURRENCY", raising=False)
    runner = ServiceRunner(PROCESSOR, KAFKA, RuntimeSettings())
    runner._initialise_metrics()  # noqa: SLF001 - what run() does first, before the lifespan
    assert runner.runtime.concurrency == (os.cpu_count() or 1)
    assert metrics.CONCURRENCY.labels("processor")._value.get() == runner.runtime.concurrency  # noqa: SLF001


def test_phoenix_concurrency_overrides_the_services_default(monkeypatch) -> None:
    monkeypatch.setenv("PHOENIX_CONCURRENCY", "3")
    assert ServiceRunner(PROCESSOR, KAFKA, RuntimeSettings()).runtime.concurrency == 3


def test_settings_are_loaded_once_with_the_identity_before_anything_starts(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PHOENIX_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PHOENIX_PROCESSOR_OMP_THREADS", "0")
    with pytest.raises(ConfigError, match=r"PHOENIX_PROCESSOR_OMP_THREADS: .*greater than or equal to 1"):
        ServiceRunner(PROCESSOR, KAFKA, RuntimeSettings()).load_settings()
    monkeypatch.setenv("PHOENIX_PROCESSOR_OMP_THREADS", "2")
    start = ServiceRunner(PROCESSOR, KAFKA, RuntimeSettings()).load_settings()
    assert start.identity.startswith("processor@") and set(start.settings) == set(PROCESSOR.settings)


def test_the_fetcher_parses_a_modes_oca_file_once() -> None:
    ctx = FetcherContext("fetcher@test", archive=None, stager=None, database=None)
    try:
        first = ctx.classifier("UVES_ECHELLE")
    except ConfigError as error:
        pytest.skip(f"UVES pipeline not installed: {error}")
    assert ctx.classifier("UVES_ECHELLE") is first
