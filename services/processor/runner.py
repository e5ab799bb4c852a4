"""Running one planned job: served from the job store when an identical job finished before,
otherwise run through the backend in a fresh private work folder (its inputs copied there from
the file store, verified), its products and log put into the file store, `result.json` written
last; then judged by the recipe's junk gates."""

from __future__ import annotations

import errno
import logging
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from services.processor import metrics
from services.processor.backends import Frame, PipelineBackend, RecipeJob, RecipeResult
from services.processor.jobs import JobInput, JobRecord, JobStore, StoredProduct, Workspace, job_key
from services.processor.metrics import RunOutcome
from services.processor.recipes import Recipe
from shared.contracts import StagedFile
from shared.errors import DataError, TransientError
from shared.storage import FileStore

log = logging.getLogger(__name__)
INPUTS_FOLDER = "inputs"


class StagedFrame(BaseModel):
    """One input of a job: a stored file and its esorex tag."""

    model_config = ConfigDict(frozen=True)

    file: StagedFile
    tag: str


class JobPlan(BaseModel):
    """Everything that decides a run: built from the AB and the recipe rules."""

    model_config = ConfigDict(frozen=True)

    recipe_name: str
    recipe: Recipe
    pipeline: str = Field(description="CPL plugin of the recipe (the mode's classification.toml), e.g. giraf.")
    arm: str
    frames: list[StagedFrame]
    inputs: list[JobInput]
    parameters: dict[str, str]
    timeout_seconds: float


class JobOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    record: JobRecord
    reused: bool
    junk_reasons: list[str]

    @property
    def successful(self) -> bool:
        return self.record.succeeded and not self.junk_reasons

    @property
    def reason(self) -> str:
        return self.record.failure_reason or "; ".join(self.junk_reasons)


class JobRunner:
    def __init__(
        self, backend: PipelineBackend, jobs: JobStore, workspace: Workspace, store: FileStore, omp_threads: int
    ) -> None:
        self.backend = backend
        self.jobs = jobs
        self.workspace = workspace
        self.store = store
        self.omp_threads = omp_threads

    def key_of(self, plan: JobPlan) -> str:
        return job_key(plan.recipe_name, self.backend.pipeline_version(plan.pipeline), plan.parameters, plan.inputs)

    async def run(self, plan: JobPlan) -> JobOutcome:
        key = self.key_of(plan)
        record = await self._finished(key)
        reused = record is not None
        if record is None:
            record = await self._run_fresh(key, plan)
        outcome = JobOutcome(record=record, reused=reused, junk_reasons=_junk(plan, record))
        _count(plan.recipe_name, outcome)
        return outcome

    async def _finished(self, key: str) -> JobRecord | None:
        """The earlier identical job, if it finished and its files are all still in the store."""
        record = await self.jobs.load(key)
        if record is None:
            return None
        files = [p.file for p in record.products if p.file] + ([record.log] if record.log else [])
        if not all([await self.store.exists(file) for file in files]):
            log.warning("job %s finished before but its files are gone from the store; running it again", key[:12])
            return None
        return record

    async def _run_fresh(self, key: str, plan: JobPlan) -> JobRecord:
        workdir = self.workspace.create(key)
        try:
            frames = await self._fetched(plan.frames, workdir / INPUTS_FOLDER)
            result = await self.backend.run(self._job(plan, frames, workdir))
            metrics.RECIPE_DURATION.labels(plan.recipe_name).observe(result.duration_seconds)
            record = await self._stored(key, plan, result)
        except OSError as error:
            self.workspace.discard(workdir)
            raise _as_phoenix_error(error, plan.recipe_name) from error
        except BaseException:
            # A missing input, an unreachable store, or the service stopping (the AB will be
            # redelivered): this half run is worthless.
            self.workspace.discard(workdir)
            raise
        if record.succeeded:
            await self.jobs.save(record)
            self.workspace.discard(workdir)
        else:
            self.workspace.keep_failed_run(workdir)
        return record

    async def _fetched(self, frames: list[StagedFrame], folder: Path) -> list[Frame]:
        """Verified copies of the job's inputs in its private folder, under their archive names."""
        folder.mkdir()
        fetched = []
        for frame in frames:
            name = frame.file.uri.rsplit("/", 1)[-1]
            target = folder / name
            if not target.exists():
                await self.store.download(frame.file, target)
            fetched.append(Frame(path=target, tag=frame.tag))
        return fetched

    def _job(self, plan: JobPlan, frames: list[Frame], workdir: Path) -> RecipeJob:
        return RecipeJob(
            recipe=plan.recipe_name, pipeline=plan.pipeline, frames=frames, parameters=plan.parameters, workdir=workdir,
            timeout_seconds=plan.timeout_seconds, omp_threads=self.omp_threads,
        )

    async def _stored(self, key: str, plan: JobPlan, result: RecipeResult) -> JobRecord:
        """The run's record, with its log and the products downstream needs put into the store."""
        products = []
        for product in result.products:
            kind = plan.recipe.kind_of(product.pro_catg)
            kept = await self.store.put(product.path) if kind else None
            products.append(
                StoredProduct(name=product.path.name, pro_catg=product.pro_catg, qc=product.qc, kind=kind, file=kept)
            )
        return JobRecord(
            job_key=key,
            recipe=plan.recipe_name,
            parameters=plan.parameters,
            inputs=plan.inputs,
            exit_code=result.exit_code,
            failure_reason=result.failure_reason,
            products=products,
            log=await self.store.put(result.log_path, f"{plan.recipe_name}.log"),
            duration_seconds=result.duration_seconds,
            esorex_version=result.esorex_version,
            pipeline_version=result.pipeline_version,
        )


def _junk(plan: JobPlan, record: JobRecord) -> list[str]:
    if not record.succeeded:
        return []
    return plan.recipe.junk_reasons(plan.recipe_name, plan.arm, {p.pro_catg: p.qc for p in record.products})


def _count(recipe: str, outcome: JobOutcome) -> None:
    if outcome.reused:
        result = RunOutcome.REUSED
    elif outcome.record.exit_code is None:
        result = RunOutcome.TIMEOUT
    elif not outcome.record.succeeded:
        result = RunOutcome.FAILED
    elif outcome.junk_reasons:
        result = RunOutcome.JUNK
    else:
        result = RunOutcome.SUCCEEDED
    metrics.RECIPE_RUNS.labels(recipe, result.value).inc()


def _as_phoenix_error(error: OSError, recipe: str) -> DataError | TransientError:
    """A full disk fails the AB with a clear reason; other file-system trouble may pass."""
    if error.errno == errno.ENOSPC:
        return DataError(f"{recipe}: no space left on device ({error.filename or 'work folder or file store'})")
    return TransientError(f"{recipe}: file-system error {error}")
