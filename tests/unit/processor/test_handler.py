"""The handler called directly, with a scripted backend: every outcome is a products-ready event."""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path

import pytest

from services.processor.service import on_data_staged
from shared.archive import ledger
from shared.contracts import ProcessStatus, ProductKind
from shared.errors import TransientError
from shared.lifecycle import AbState
from tests.support.storage import stored_path
from tests.unit.processor.support import ScriptedBackend, context_with, staged_event

GOOD_BIAS = {"MASTER_BIAS_BLUE": {"QC.OUT1.RON.RAW": 2.4, "QC.OUT1.RON.MASTER": 1.8}}


def raw_files(tmp_path: Path, count: int = 3) -> list[Path]:
    paths = []
    for number in range(count):
        path = tmp_path / f"UVES.2024-03-01T18:3{number}:00.000.fits"
        path.write_bytes(f"raw frame {number}".encode())
        paths.append(path)
    return paths


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend(products=dict(GOOD_BIAS))


@pytest.fixture
async def ctx(backend, tmp_path):
    context = await context_with(backend, tmp_path / "data")
    yield context
    await context.db.close()


async def bias_event(ctx, tmp_path, tag: str = "BIAS_BLUE", recipe: str = "uves_cal_mbias"):
    return await staged_event(ctx.store, recipe, [(path, tag) for path in raw_files(tmp_path)])


async def test_a_good_run_gives_master_calibrations_with_qc(ctx, backend, tmp_path):
    [ready] = await on_data_staged(await bias_event(ctx, tmp_path), ctx)
    assert ready.status is ProcessStatus.SUCCESSFUL, ready.reason
    product, log = ready.products
    assert (product.pro_catg, product.kind) == ("MASTER_BIAS_BLUE", ProductKind.MCALIB)
    assert (log.pro_catg, log.kind, log.file) == ("PROCESSING_LOG", ProductKind.ANCILLARY, ready.log), (
        "the recipe log travels with the products to the archive"
    )
    assert product.qc["QC.OUT1.RON.RAW"] == pytest.approx(2.4)
    assert await ctx.store.exists(product.file) and await ctx.store.exists(ready.log)
    assert not ready.reused and ready.pipeline_version == "uves-test esorex-test"
    [job] = backend.runs
    assert job.parameters == {"clean_traps": "FALSE", "pd_compute": "FALSE", "stack_method": "median",
                              "klow": "5.0", "khigh": "5.0", "niter": "5"}
    assert [frame.tag for frame in job.frames] == ["BIAS_BLUE"] * 3
    assert list((tmp_path / "data" / "work").iterdir()) == [], "the work folder of a successful run is deleted"


async def test_the_processor_records_processed_itself_with_its_identity(ctx, backend, tmp_path):
    backend.exit_code = 3
    event = await bias_event(ctx, tmp_path)
    [ready] = await on_data_staged(event, ctx)
    async with ctx.db.session() as session:
        record = await ledger.get_ab(session, event.ab.ab_id)
        [step] = await ledger.ab_history(session, event.ab.ab_id)
    assert (record.state, record.reason) == (AbState.PROCESSED, ready.reason), "FAILED is the ingestor's to record"
    assert (step.service, step.event_id) == ("processor@test", event.event_id)


async def test_a_repeated_ab_is_served_from_the_job_store(ctx, backend, tmp_path):
    event = await bias_event(ctx, tmp_path)
    [first] = await on_data_staged(event, ctx)
    [again] = await on_data_staged(event, ctx)
    assert len(backend.runs) == 1
    assert again.reused and again.status is ProcessStatus.SUCCESSFUL
    assert again.job_key == first.job_key and again.products == first.products


async def test_products_no_one_needs_are_not_reported(ctx, backend, tmp_path):
    backend.products["SOME_DEBUG_TABLE_BLUE"] = {"QC.X": 1}
    [ready] = await on_data_staged(await bias_event(ctx, tmp_path), ctx)
    assert [p.pro_catg for p in ready.products if p.kind is not ProductKind.ANCILLARY] == ["MASTER_BIAS_BLUE"]


async def test_a_junk_gate_fails_the_ab_with_the_value_found(ctx, backend, tmp_path):
    backend.products = {"MASTER_BIAS_BLUE": {"QC.OUT1.RON.RAW": 0.0}}
    [ready] = await on_data_staged(await bias_event(ctx, tmp_path), ctx)
    assert ready.status is ProcessStatus.FAILED and ready.products == []
    assert ready.reason == "uves_cal_mbias MASTER_BIAS_BLUE found 0 raw read noise [ADU], at least 0.05 expected"
    assert await ctx.store.exists(ready.log)


async def test_exit_zero_without_the_expected_product_is_junk(ctx, backend, tmp_path):
    backend.products = {}
    [ready] = await on_data_staged(await bias_event(ctx, tmp_path), ctx)
    assert ready.status is ProcessStatus.FAILED
    assert ready.reason == "uves_cal_mbias exited 0 but wrote no MASTER_BIAS_BLUE product"


async def test_a_failed_recipe_keeps_its_work_folder_and_is_not_remembered(ctx, backend, tmp_path):
    backend.exit_code = 1
    event = await bias_event(ctx, tmp_path)
    [ready] = await on_data_staged(event, ctx)
    assert ready.status is ProcessStatus.FAILED and "exit code 1" in ready.reason
    assert len(list((tmp_path / "data" / "work" / "failed").iterdir())) == 1
    await on_data_staged(event, ctx)
    assert len(backend.runs) == 2, "a failed job is not served from the job store"


async def test_failed_work_folders_are_kept_up_to_the_bound(backend, tmp_path):
    ctx = await context_with(backend, tmp_path / "data", keep_failed=2)
    backend.exit_code = 3
    for _ in range(4):
        await on_data_staged(await bias_event(ctx, tmp_path), ctx)
    await ctx.db.close()
    assert len(list((tmp_path / "data" / "work" / "failed").iterdir())) == 2


@pytest.mark.parametrize(
    ("recipe", "tag", "reason"),
    [
        ("uves_cal_nonsense", "BIAS_BLUE", "unknown recipe 'uves_cal_nonsense'"),
        ("uves_cal_mbias", "FLAT_BLUE", "uves_cal_mbias does not accept raw tag FLAT_BLUE"),
        ("none", "UNKNOWN", "unknown recipe 'none'"),
    ],
)
async def test_an_unrunnable_ab_fails_without_running(ctx, backend, tmp_path, recipe, tag, reason):
    [ready] = await on_data_staged(await bias_event(ctx, tmp_path, tag=tag, recipe=recipe), ctx)
    assert ready.status is ProcessStatus.FAILED and reason in ready.reason
    assert backend.runs == []


async def test_a_missing_staged_file_fails_the_ab(ctx, backend, tmp_path):
    event = await bias_event(ctx, tmp_path)
    stored_path(ctx.store, event.ab.raw_files[1].staged).unlink()
    [ready] = await on_data_staged(event, ctx)
    assert ready.status is ProcessStatus.FAILED
    assert event.ab.raw_files[1].arcfile in ready.reason and "is missing from the file store" in ready.reason
    assert backend.runs == []


async def test_a_truncated_staged_file_fails_the_ab(ctx, backend, tmp_path):
    event = await bias_event(ctx, tmp_path)
    stored_path(ctx.store, event.ab.raw_files[0].staged).write_bytes(b"x")
    [ready] = await on_data_staged(event, ctx)
    assert ready.status is ProcessStatus.FAILED and "is corrupt: 1 bytes" in ready.reason


async def test_an_unstaged_file_fails_the_ab(ctx, backend, tmp_path):
    event = await bias_event(ctx, tmp_path)
    raw = event.ab.raw_files[0].model_copy(update={"staged": None})
    ab = event.ab.model_copy(update={"raw_files": [raw, *event.ab.raw_files[1:]]})
    [ready] = await on_data_staged(event.model_copy(update={"ab": ab}), ctx)
    assert ready.status is ProcessStatus.FAILED and ready.reason == f"{raw.arcfile} was never staged"


async def test_a_full_disk_fails_the_ab(ctx, backend, tmp_path):
    backend.error = OSError(errno.ENOSPC, "No space left on device", "out/masterbias_blue.fits")
    [ready] = await on_data_staged(await bias_event(ctx, tmp_path), ctx)
    assert ready.status is ProcessStatus.FAILED
    assert ready.reason == "uves_cal_mbias: no space left on device (out/masterbias_blue.fits)"
    assert list((tmp_path / "data" / "work").iterdir()) == []


async def test_other_file_system_trouble_is_transient(ctx, backend, tmp_path):
    backend.error = OSError(errno.EIO, "Input/output error")
    with pytest.raises(TransientError):
        await on_data_staged(await bias_event(ctx, tmp_path), ctx)


async def test_red_frames_take_the_red_products(ctx, backend, tmp_path):
    backend.products = {
        "MASTER_BIAS_REDL": {"QC.OUT4.RON.RAW": 2.5}, "MASTER_BIAS_REDU": {"QC.OUT1.RON.RAW": 2.6},
    }
    [ready] = await on_data_staged(await bias_event(ctx, tmp_path, tag="BIAS_RED"), ctx)
    assert ready.status is ProcessStatus.SUCCESSFUL, ready.reason
    assert sorted(p.pro_catg for p in ready.products if p.kind is not ProductKind.ANCILLARY) == [
        "MASTER_BIAS_REDL", "MASTER_BIAS_REDU"]


async def test_a_cancelled_run_leaves_neither_result_nor_work_folder(ctx, backend, tmp_path):
    backend.hang = True
    task = asyncio.create_task(on_data_staged(await bias_event(ctx, tmp_path), ctx))
    while not backend.runs:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list((tmp_path / "data" / "work").iterdir()) == []
    assert not (tmp_path / "data" / "store" / "jobs").exists()
