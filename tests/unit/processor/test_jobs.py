"""Job keys, the job store's result.json, work folders, SOF files."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from services.processor.backends import Frame
from services.processor.backends.esorex import collect_products, write_sof
from services.processor.jobs import JobInput, JobRecord, JobStore, Workspace, job_key
from tests.support.storage import folder_store

A, B = "a" * 64, "b" * 64
INPUTS = [JobInput(sha256=A, tag="BIAS_BLUE"), JobInput(sha256=B, tag="BIAS_BLUE")]
PARAMETERS = {"stack_method": "median", "pd_compute": "FALSE"}


def test_job_key_is_stable_and_ignores_input_and_parameter_order():
    key = job_key("uves_cal_mbias", "uves-6.1.8", PARAMETERS, INPUTS)
    assert key == job_key("uves_cal_mbias", "uves-6.1.8", dict(reversed(PARAMETERS.items())), INPUTS[::-1])
    # Pinned to its canonical document: a change silently invalidates every job store.
    document = (
        '{"recipe":"uves_cal_mbias","pipeline_version":"uves-6.1.8",'
        '"parameters":[["pd_compute","FALSE"],["stack_method","median"]],'
        f'"inputs":[["{A}","BIAS_BLUE"],["{B}","BIAS_BLUE"]]}}'
    )
    assert key == hashlib.sha256(document.encode()).hexdigest()


@pytest.mark.parametrize(
    "changed",
    [
        {"recipe": "uves_cal_mdark"},
        {"pipeline_version": "uves-6.1.9"},
        {"parameters": {**PARAMETERS, "stack_method": "mean"}},
        {"inputs": [INPUTS[0], JobInput(sha256="c" * 64, tag="BIAS_BLUE")]},
        {"inputs": [INPUTS[0], JobInput(sha256=B, tag="DARK_BLUE")]},
    ],
)
def test_job_key_changes_with_anything_that_changes_the_output(changed):
    base = {"recipe": "uves_cal_mbias", "pipeline_version": "uves-6.1.8", "parameters": PARAMETERS, "inputs": INPUTS}
    assert job_key(**base) != job_key(**{**base, **changed})


def record(key: str = "k" * 64) -> JobRecord:
    return JobRecord(
        job_key=key, recipe="uves_cal_mbias", parameters=PARAMETERS, inputs=INPUTS, exit_code=0,
        duration_seconds=1.5, esorex_version="esorex-3.13.6", pipeline_version="uves-6.1.8",
    )


async def test_a_saved_record_loads_back_and_a_new_run_replaces_it(tmp_path):
    jobs = JobStore(folder_store(tmp_path / "store"))
    assert await jobs.load("k" * 64) is None
    await jobs.save(record())
    assert await jobs.load("k" * 64) == record().model_copy(update={"finished_at": (await jobs.load("k" * 64)).finished_at})
    await jobs.save(record().model_copy(update={"duration_seconds": 2.5}))
    assert (await jobs.load("k" * 64)).duration_seconds == 2.5
    assert [p.name for p in (tmp_path / "store" / "jobs" / ("k" * 64)).iterdir()] == ["result.json"], "no temporary left"


def test_work_folders_are_fresh_per_run(tmp_path):
    workspace = Workspace(tmp_path / "work", keep_failed=3)
    first, second = workspace.create("k" * 64), workspace.create("k" * 64)
    assert first != second and first.name.startswith("k" * 64 + ".") and first.is_dir()


def test_abandoned_work_folders_are_swept_but_not_failed_ones(tmp_path):
    workspace = Workspace(tmp_path / "work", keep_failed=3)
    old, young, failed = workspace.create("a" * 64), workspace.create("b" * 64), workspace.create("c" * 64)
    workspace.keep_failed_run(failed)
    os.utime(old, (1, 1))
    os.utime(tmp_path / "work" / "failed", (1, 1))
    assert workspace.sweep_abandoned(older_than_seconds=3600) == [old.name]
    assert young.is_dir() and (tmp_path / "work" / "failed" / failed.name).is_dir()


def test_sof_has_one_path_and_tag_per_line(tmp_path):
    frames = [Frame(path=Path("/data/a.fits"), tag="BIAS_BLUE"), Frame(path=Path("/data/m b.fits"), tag="MASTER_BIAS_BLUE")]
    write_sof(frames, tmp_path / "job.sof")
    assert (tmp_path / "job.sof").read_text() == "/data/a.fits BIAS_BLUE\n/data/m b.fits MASTER_BIAS_BLUE\n"


def test_qc_keywords_become_dotted_names(tmp_path):
    from astropy.io import fits

    header = fits.Header()
    header["HIERARCH ESO QC OUT1 RON RAW"] = 2.5
    header["HIERARCH ESO QC NLINSOL"] = 467
    header["HIERARCH ESO QC FLAG"] = True
    header["HIERARCH ESO QC DID"] = "UVES-" + "x" * 80  # a long string, continued over cards
    header["HIERARCH ESO PRO CATG"] = "LINE_TABLE_BLUE"
    fits.PrimaryHDU(header=header).writeto(tmp_path / "product.fits")
    [product] = collect_products(tmp_path)
    assert product.pro_catg == "LINE_TABLE_BLUE"
    assert product.qc == {"QC.OUT1.RON.RAW": 2.5, "QC.NLINSOL": 467, "QC.FLAG": 1, "QC.DID": "UVES-" + "x" * 80}
