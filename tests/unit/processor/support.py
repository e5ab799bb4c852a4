"""Building processor inputs from files in a folder file store, and a scripted backend."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from astropy.io import fits

from services.processor.backends import ProductFile, RecipeJob, RecipeResult
from services.processor.backends.esorex import LOG_NAME, collect_products, write_sof
from services.processor.jobs import JobStore, Workspace
from services.processor.recipes import load_all_recipes
from services.processor.runner import JobRunner
from services.processor.sdp import load_sdp_rules
from services.processor.service import ProcessorContext
from services.processor.settings import ProcessorSettings
from shared.archive import ArchiveDatabase, upgrade_to_head
from shared.archive.settings import sqlite_url
from shared.contracts import Association, AssociationBlock, CalibrationRole, DataStaged, ProcessingMode, RawFrame
from shared.storage import FileStore
from tests.support.storage import folder_store


async def staged_event(
    store: FileStore,
    recipe: str,
    raws: list[tuple[Path, str]],
    calibrations: list[tuple[Path, str]] = (),
    mode: ProcessingMode = ProcessingMode.MCALIB,
    dpr_catg: str = "CALIB",
) -> DataStaged:
    """A data-staged event whose files were put into `store` the way the fetcher stages them."""
    raw_files = [
        RawFrame(arcfile=path.name, category=tag, mjd_obs=60370.8, staged=await store.put(path)) for path, tag in raws
    ]
    associations = [
        Association(
            evaluation="OK", role=CalibrationRole.MCALIB, file=path.name, pro_catg=tag, delta_days=0.1,
            staged=await store.put(path),
        )
        for path, tag in calibrations
    ]
    ab = AssociationBlock(
        ab_id=f"UVES_ECHELLE.2024-03-01.{raws[0][1]}.{uuid.uuid4().hex[:8]}", ab_name=f"{raws[0][0].name}.ab",
        instrument="UVES", instrument_mode="UVES_ECHELLE", night=date(2024, 3, 1), mode=mode, dpr_catg=dpr_catg,
        raw_type=raws[0][1], recipe=recipe, mjd_obs=60370.8, mjd_obs_mod=60370.8, raw_files=raw_files,
        calibrations=associations,
    )
    return DataStaged(correlation_id=uuid.uuid4(), ab=ab)


def write_product(path: Path, pro_catg: str, qc: dict[str, float | int | str]) -> Path:
    header = fits.Header()
    header["HIERARCH ESO PRO CATG"] = pro_catg
    for key, value in qc.items():
        header["HIERARCH ESO " + key.replace(".", " ")] = value
    fits.PrimaryHDU(header=header).writeto(path)
    return path


@dataclass
class ScriptedBackend:
    """Writes the products it is told to, as a recipe would, and counts its runs."""

    products: dict[str, dict[str, float | int | str]] = field(default_factory=dict)
    exit_code: int | None = 0
    error: OSError | None = None
    hang: bool = False
    runs: list[RecipeJob] = field(default_factory=list)
    esorex_version: str = "esorex-test"

    def pipeline_version(self, pipeline: str) -> str:
        return f"{pipeline}-test"

    async def run(self, job: RecipeJob) -> RecipeResult:
        self.runs.append(job)
        if self.error is not None:
            raise self.error
        if self.hang:
            (job.workdir / "partial.fits").write_bytes(b"half")
            await asyncio.sleep(3600)
        write_sof(job.frames, job.workdir / "job.sof")
        (job.workdir / "out").mkdir()
        for number, (category, qc) in enumerate(self.products.items()):
            write_product(job.workdir / "out" / f"product{number}.fits", category, qc)
        log_path = job.workdir / LOG_NAME
        log_path.write_text("[ INFO  ] scripted run\n" + ("" if self.exit_code == 0 else "[ ERROR ] scripted failure\n"))
        products: list[ProductFile] = collect_products(job.workdir / "out") if self.exit_code == 0 else []
        return RecipeResult(
            exit_code=self.exit_code, products=products, log_path=log_path, duration_seconds=0.01,
            esorex_version=self.esorex_version, pipeline_version=self.pipeline_version(job.pipeline),
            failure_reason="" if self.exit_code == 0 else f"{job.recipe} failed with exit code {self.exit_code}",
        )


async def context_with(backend, data_dir: Path, keep_failed: int = 20) -> ProcessorContext:
    """A processor context with a scripted backend and a fresh SQLite ledger under `data_dir`."""
    store = folder_store(data_dir / "store")
    runner = JobRunner(backend, JobStore(store), Workspace(data_dir / "work", keep_failed), store, 1)
    url = sqlite_url(data_dir / "ledger.db")
    data_dir.mkdir(parents=True, exist_ok=True)
    await upgrade_to_head(url)
    return ProcessorContext(
        identity="processor@test", db=ArchiveDatabase(url), settings=ProcessorSettings(keep_failed_workdirs=keep_failed), recipes=load_all_recipes(),
        sdp_rules={"UVES_ECHELLE": load_sdp_rules("UVES_ECHELLE")}, store=store, runner=runner,
    )
