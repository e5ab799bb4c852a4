"""The handler and the esorex backend with the real pipeline, on synthetic bias frames."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from astropy.io import fits

from services.processor.backends import Frame, RecipeJob
from services.processor.service import on_data_staged
from shared.contracts import ProcessStatus, ProductKind
from tests.integration.processor.conftest import esorex_processes_in
from tests.integration.processor.frames import write_bias
from tests.support.storage import stored_path
from tests.unit.processor.support import staged_event

pytestmark = [pytest.mark.esorex, pytest.mark.timeout(300)]

CHIPS = {"blue": ["BLUE"], "red": ["REDL", "REDU"]}


def biases(folder: Path, arm: str, count: int = 3, noise: float = 2.5) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [write_bias(folder / f"UVES.{arm}.bias{n}.fits", arm, seed=n, noise=noise) for n in range(count)]


@pytest.mark.parametrize("arm", ["blue", "red"])
async def test_master_bias_through_the_handler(ctx, tmp_path, arm):
    tag = f"BIAS_{arm.upper()}"
    event = await staged_event(ctx.store, "uves_cal_mbias", [(p, tag) for p in biases(tmp_path / "raw", arm)])
    [ready] = await on_data_staged(event, ctx)
    assert ready.status is ProcessStatus.SUCCESSFUL, ready.reason
    masters = [p for p in ready.products if p.kind is not ProductKind.ANCILLARY]
    assert sorted(p.pro_catg for p in masters) == [f"MASTER_BIAS_{chip}" for chip in CHIPS[arm]]
    for product in masters:
        assert product.kind is ProductKind.MCALIB
        ron = next(v for k, v in product.qc.items() if k.endswith("RON.RAW"))
        assert ron == pytest.approx(2.5, rel=0.1), "the pipeline measures the noise the frames were made with"
        header = fits.getheader(stored_path(ctx.store, product.file))
        assert header["HIERARCH ESO PRO CATG"] == product.pro_catg
    assert "uves_cal_mbias" in stored_path(ctx.store, ready.log).read_text()
    assert ready.pipeline_version.startswith("uves-6.") and "esorex-3." in ready.pipeline_version
    assert not ready.reused and ready.duration_seconds > 0
    assert list((tmp_path / "data" / "cache" / "work").iterdir()) == [], "the work folder is gone after success"
    assert (tmp_path / "data" / "store" / "jobs" / ready.job_key / "result.json").is_file()


async def test_a_repeated_ab_is_served_without_running_esorex(ctx, tmp_path):
    event = await staged_event(ctx.store, "uves_cal_mbias", [(p, "BIAS_RED") for p in biases(tmp_path / "raw", "red")])
    started = time.perf_counter()
    [first] = await on_data_staged(event, ctx)
    first_seconds = time.perf_counter() - started
    started = time.perf_counter()
    [again] = await on_data_staged(event, ctx)
    again_seconds = time.perf_counter() - started
    assert first.status is again.status is ProcessStatus.SUCCESSFUL
    assert again.reused and again.job_key == first.job_key and again.products == first.products
    assert again_seconds < first_seconds / 5, (first_seconds, again_seconds)
    assert not (tmp_path / "data" / "cache" / "work").exists() or list((tmp_path / "data" / "cache" / "work").iterdir()) == []


async def test_constant_frames_exit_zero_but_are_junk(ctx, tmp_path):
    frames = [(p, "BIAS_BLUE") for p in biases(tmp_path / "raw", "blue", noise=0)]
    [ready] = await on_data_staged(await staged_event(ctx.store, "uves_cal_mbias", frames), ctx)
    assert ready.status is ProcessStatus.FAILED and ready.products == []
    assert ready.reason == "uves_cal_mbias MASTER_BIAS_BLUE found 0 raw read noise [ADU], at least 0.05 expected"


async def test_a_recipe_error_fails_the_ab_with_the_pipeline_error(ctx, tmp_path):
    frames = [(p, "FLAT_BLUE") for p in biases(tmp_path / "raw", "blue")]
    [ready] = await on_data_staged(await staged_event(ctx.store, "uves_cal_mflat", frames), ctx)
    assert ready.status is ProcessStatus.FAILED
    assert ready.reason.startswith("uves_cal_mflat failed with exit code ") and "[ ERROR ]" in ready.reason
    assert await ctx.store.exists(ready.log)
    [kept] = (tmp_path / "data" / "cache" / "work" / "failed").iterdir()
    assert (kept / "job.sof").is_file() and (kept / "recipe.log").is_file()


async def test_a_wrong_tag_makes_esorex_fail(ctx, tmp_path):
    frames = [Frame(path=p, tag="ARC_LAMP_BLUE") for p in biases(tmp_path / "raw", "blue")]
    job = RecipeJob(recipe="uves_cal_mbias", pipeline="uves", frames=frames, workdir=tmp_path / "job", timeout_seconds=60)
    result = await ctx.runner.backend.run(job)
    assert result.exit_code not in (0, None) and result.products == []
    assert result.failure_reason.startswith(f"uves_cal_mbias failed with exit code {result.exit_code}: ")


async def test_a_timeout_kills_the_whole_process_group(ctx, tmp_path):
    frames = [Frame(path=p, tag="BIAS_RED") for p in biases(tmp_path / "raw", "red", count=8)]
    job = RecipeJob(recipe="uves_cal_mbias", pipeline="uves", frames=frames, workdir=tmp_path / "job", timeout_seconds=0.3)
    started = time.perf_counter()
    result = await ctx.runner.backend.run(job)
    assert result.timed_out and result.failure_reason == "uves_cal_mbias timed out after 0 s and was killed"
    assert time.perf_counter() - started < 5
    assert esorex_processes_in(tmp_path / "job") == []


async def test_cancelling_the_job_kills_the_recipe(ctx, tmp_path):
    frames = [Frame(path=p, tag="BIAS_RED") for p in biases(tmp_path / "raw", "red", count=8)]
    job = RecipeJob(recipe="uves_cal_mbias", pipeline="uves", frames=frames, workdir=tmp_path / "job", timeout_seconds=60)
    task = asyncio.create_task(ctx.runner.backend.run(job))
    for _ in range(100):
        if esorex_processes_in(tmp_path / "job"):
            break
        await asyncio.sleep(0.05)
    assert esorex_processes_in(tmp_path / "job"), "esorex started"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert esorex_processes_in(tmp_path / "job") == []
