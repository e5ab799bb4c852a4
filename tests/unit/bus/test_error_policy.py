"""One error policy: the runtime decides a message's fate from its error's class alone, and every
service gives the same kind of bad input the same outcome (runtime docstring, README "Delivery
guarantees")."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import sqlalchemy.exc
from aiokafka.errors import KafkaConnectionError, UnknownTopicOrPartitionError

from services.certifier.service import SERVICE as CERTIFIER
from services.certifier.service import CertifierContext, load_all_rules
from services.fetcher.service import SERVICE as FETCHER
from services.fetcher.service import FetcherContext
from services.ingestor.releases import load_all_releases
from services.ingestor.service import SERVICE as INGESTOR
from services.ingestor.service import IngestorContext
from services.processor.recipes import load_all_recipes
from services.processor.service import SERVICE as PROCESSOR
from services.processor.service import ProcessorContext
from services.qc.service import SERVICE as QC
from services.qc.service import QcContext, load_all_thresholds
from shared.archive import ArchiveDatabase, ledger, upgrade_to_head
from shared.archive.settings import sqlite_url
from shared.bus import metrics
from shared.bus.runtime import Fate, ServiceRunner, ServiceSpec, fate_of
from shared.contracts import (
    AssociationBlock,
    Certified,
    DataStaged,
    DateRequested,
    Decision,
    Event,
    FinalState,
    Ingested,
    ProcessStatus,
    ProductsReady,
    QcScored,
    RawFrame,
)
from shared.errors import ConfigError, DataError, NoWork, TransientError
from shared.instruments import UnknownInstrumentMode
from shared.lifecycle import RequestState, TransitionRefused
from shared.settings import KafkaSettings
from tests.support.bus import fast_runtime

UNKNOWN = "NO_SUCH_MODE"


@pytest.mark.parametrize(
    ("error", "fate"),
    [
        (TransientError("archive away"), Fate.RETRY),
        (TimeoutError(), Fate.RETRY),
        (ConnectionResetError(), Fate.RETRY),
        (httpx.ConnectError("refused"), Fate.RETRY),
        (sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection")), Fate.RETRY),
        (KafkaConnectionError(), Fate.RETRY),
        (UnknownTopicOrPartitionError(), Fate.RETRY),
        (DataError("bad input"), Fate.DEAD_LETTER),
        (UnknownInstrumentMode("unknown"), Fate.DEAD_LETTER),
        (TransitionRefused("AB x: INGESTED → SCORED"), Fate.DEAD_LETTER),
        (ConfigError("PHOENIX_X missing"), Fate.STOP),
        (KeyError("UVES_ECHELLE"), Fate.BUG),
        (AttributeError("'NoneType' object has no attribute 'db'"), Fate.BUG),
        (ValueError("bad"), Fate.BUG),
        (FileNotFoundError("a bug, not an outage"), Fate.BUG),
    ],
)
def test_the_fate_follows_the_error_class(error: Exception, fate: Fate) -> None:
    assert fate_of(error) is fate


def ab(instrument_mode: str = "UVES_ECHELLE") -> AssociationBlock:
    return AssociationBlock(
        ab_id=f"{instrument_mode}.2024-03-01.BIAS_BLUE.0a1b2c3d", ab_name="x", instrument="UVES",
        instrument_mode=instrument_mode, night=date(2024, 3, 1), mode="MCALIB", dpr_catg="CALIB",
        raw_type="BIAS_BLUE", recipe="uves_cal_mbias", mjd_obs=60370.8, mjd_obs_mod=60370.8,
        raw_files=[RawFrame(arcfile="UVES.2024-03-01T18:30:03.000.fits", category="BIAS_BLUE", mjd_obs=60370.8)],
    )


def input_of(model: type[Event], instrument_mode: str) -> Event:
    """An input event of `model` naming `instrument_mode`."""
    request = uuid.uuid4()
    block = ab(instrument_mode)
    return {
        DateRequested: lambda: DateRequested(correlation_id=request, instrument_mode=instrument_mode,
                                             night=date(2024, 3, 1), mode="MCALIB"),
        DataStaged: lambda: DataStaged(correlation_id=request, ab=block),
        ProductsReady: lambda: ProductsReady(correlation_id=request, ab=block, status=ProcessStatus.SUCCESSFUL),
        QcScored: lambda: QcScored(correlation_id=request, ab=block, status=ProcessStatus.SUCCESSFUL),
        Certified: lambda: Certified(correlation_id=request, ab=block, decision=Decision.CERTIFIED, decided_by="auto"),
        Ingested: lambda: Ingested(correlation_id=request, ab=block, state=FinalState.INGESTED),
    }[model]()


@dataclass
class Letters:
    """Dead letters a runner would send, caught before the broker."""

    sent: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, record: Any, error_class: str, reason: str, attempts: int) -> None:
        self.sent.append({"error_class": error_class, "reason": reason, "attempts": attempts})


@pytest.fixture
async def database(tmp_path):
    url = sqlite_url(tmp_path / "ledger.db")
    await upgrade_to_head(url)
    async with ArchiveDatabase(url) as db:
        yield db


def contexts(db: ArchiveDatabase) -> dict[str, Any]:
    """Each service's context, with what its handler reads before it touches anything else."""
    return {
        "fetcher": FetcherContext("fetcher@test", archive=None, stager=None, database=db),
        "processor": ProcessorContext(identity="processor@test", db=db, settings=None, recipes=load_all_recipes(),
                                      sdp_rules={}, store=None, runner=None),
        "qc": QcContext("qc@test", None, None, db, None, load_all_thresholds(), None),
        "certifier": CertifierContext("certifier@test", db, load_all_rules()),
        "ingestor": IngestorContext("ingestor@test", db, None, None, None, load_all_releases()),
    }


SERVICES = [FETCHER, PROCESSOR, QC, CERTIFIER, INGESTOR]
HANDLERS = [(spec, model) for spec in SERVICES for model in spec.handlers]


async def handled(spec: ServiceSpec, model: type[Event], ctx: Any, event: Event) -> Letters:
    """Run one message through the runtime's error policy (no broker: dead letters are caught)."""
    runner = ServiceRunner(spec, KafkaSettings(bootstrap_servers="127.0.0.1:1"), fast_runtime(retry_attempts=3))
    letters = Letters()
    runner._ctx = ctx  # noqa: SLF001 - the context the lifespan would have built
    runner._dead_letter = letters  # type: ignore[method-assign]  # noqa: SLF001
    outputs = await runner._call_with_retries(spec.handlers[model], event, SimpleNamespace(topic=model.topic))  # noqa: SLF001
    assert outputs == []
    return letters


@pytest.mark.parametrize(("spec", "model"), HANDLERS, ids=[f"{s.name}-{m.topic}" for s, m in HANDLERS])
async def test_an_unknown_instrument_mode_is_dead_lettered_at_once_in_every_service(spec, model, database) -> None:
    event = input_of(model, UNKNOWN)
    letters = await handled(spec, model, contexts(database)[spec.name], event)
    [letter] = letters.sent
    assert (letter["error_class"], letter["attempts"]) == ("UnknownInstrumentMode", 1)
    assert letter["reason"].startswith(f"unknown instrument mode '{UNKNOWN}'") and "UVES_ECHELLE" in letter["reason"]


async def test_the_fetcher_also_records_a_request_for_an_unknown_mode_failed(database) -> None:
    event = input_of(DateRequested, UNKNOWN)
    await handled(FETCHER, DateRequested, contexts(database)["fetcher"], event)
    async with database.session() as session:
        request = await ledger.get_request(session, event.request_id)
    assert request.state is RequestState.FAILED and request.reason.startswith(f"unknown instrument mode '{UNKNOWN}'")


@pytest.mark.parametrize(("spec", "model"), HANDLERS, ids=[f"{s.name}-{m.topic}" for s, m in HANDLERS])
async def test_a_handler_bug_is_dead_lettered_once_and_counted_in_every_service(spec, model) -> None:
    broken = SimpleNamespace(identity=f"{spec.name}@test")  # a context the handler cannot use: a bug
    handler = spec.handlers[model].__name__
    bugs = metrics.HANDLER_BUGS.labels(spec.name, handler)
    before = bugs._value.get()  # noqa: SLF001
    letters = await handled(spec, model, broken, input_of(model, "UVES_ECHELLE"))
    [letter] = letters.sent
    assert (letter["error_class"], letter["attempts"]) == ("AttributeError", 1), "a bug is not retried"
    assert letter["reason"].startswith(f"bug in {spec.name}@") and handler in letter["reason"]
    assert bugs._value.get() == before + 1  # noqa: SLF001


async def test_a_transient_failure_is_retried_then_dead_lettered() -> None:
    attempts = 0

    async def on_date_requested(event: DateRequested, ctx: object) -> list[Event]:
        nonlocal attempts
        attempts += 1
        raise TransientError("archive away")

    spec = ServiceSpec(name="flaky", handlers={DateRequested: on_date_requested}, produces=())
    letters = await handled(spec, DateRequested, None, input_of(DateRequested, "UVES_ECHELLE"))
    assert attempts == 3 and letters.sent[0]["attempts"] == 3
    assert letters.sent[0]["reason"] == "still failing after 3 attempts: archive away"


async def test_no_work_is_skipped_and_a_config_error_stops_the_service() -> None:
    async def skips(event: DateRequested, ctx: object) -> list[Event]:
        raise NoWork("nothing")

    async def misconfigured(event: DateRequested, ctx: object) -> list[Event]:
        raise ConfigError("PHOENIX_X is not set")

    event = input_of(DateRequested, "UVES_ECHELLE")
    assert (await handled(ServiceSpec("s", {DateRequested: skips}, ()), DateRequested, None, event)).sent == []
    with pytest.raises(ConfigError):
        await asyncio.wait_for(handled(ServiceSpec("s", {DateRequested: misconfigured}, ()), DateRequested, None, event), 5)
