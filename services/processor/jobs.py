"""Jobs: the key that says two runs would be identical, the job store that remembers finished
runs, and the work folders recipes run in.

Where they live:
- `jobs/<key>/result.json` in the file store: the finished job (products as store URIs, QC,
  log, versions), so a replica on any host reuses it. It is written last and whole: its
  presence is the only sign of a finished job, so a replica killed mid-job leaves no result.
- `work/<key>.<random>/` under this host's PHOENIX_CACHE_DIR: one private folder per run
  (the inputs copied from the store, SOF, `out/`, logs). Deleted after a
  successful run (its products and log are in the file store by then); after a failure moved
  to `work/failed/` for inspection, the newest `keep_failed_workdirs` of them, older ones
  pruned. Folders of replicas killed mid-run are swept at start-up once older than any
  recipe may run. The log of
  every run, failed or not, is in the file store, so pruning loses no evidence.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.processor.backends import QcValue
from shared.contracts import ProductKind, StagedFile
from shared.storage import FileStore

log = logging.getLogger(__name__)

JOBS_PREFIX = "jobs"
RESULT_FILE = "result.json"
FAILED_DIR = "failed"


class JobInput(BaseModel):
    model_config = ConfigDict(frozen=True)

    sha256: str
    tag: str


class StoredProduct(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    pro_catg: str
    qc: dict[str, QcValue] = Field(default_factory=dict)
    kind: ProductKind | None = Field(default=None, description="MCALIB or PIPELINE; None for a product no one downstream needs.")
    file: StagedFile | None = Field(default=None, description="Where it is stored; None when it was not kept.")


class JobRecord(BaseModel):
    """What one recipe run gave; `result.json` of a finished job."""

    model_config = ConfigDict(frozen=True)

    job_key: str
    recipe: str
    parameters: dict[str, str]
    inputs: list[JobInput]
    exit_code: int | None
    failure_reason: str = ""
    products: list[StoredProduct] = Field(default_factory=list)
    log: StagedFile | None = None
    duration_seconds: float = Field(ge=0)
    esorex_version: str
    pipeline_version: str
    finished_at: AwareDatetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0


def job_key(recipe: str, pipeline_version: str, parameters: dict[str, str], inputs: list[JobInput]) -> str:
    """sha256 of what decides a run's output: the same key means the same products.

    Inputs are sorted, so the order of files in the AB does not matter; parameter values are
    the esorex texts actually passed."""
    document = {
        "recipe": recipe,
        "pipeline_version": pipeline_version,
        "parameters": sorted(parameters.items()),
        "inputs": sorted((item.sha256, item.tag) for item in inputs),
    }
    return hashlib.sha256(json.dumps(document, separators=(",", ":")).encode()).hexdigest()


class JobStore:
    """Finished jobs, and what is derived from them (`document_key`), in the file store."""

    def __init__(self, store: FileStore) -> None:
        self.store = store

    @staticmethod
    def document_key(key: str, name: str) -> str:
        return f"{JOBS_PREFIX}/{key}/{name}"

    async def load(self, key: str) -> JobRecord | None:
        """The finished job with this key; None when there is none."""
        text = await self.store.read(self.document_key(key, RESULT_FILE))
        return None if text is None else JobRecord.model_validate_json(text)

    async def save(self, record: JobRecord) -> None:
        """Write `result.json`; call it only once everything it names is stored."""
        await self.store.write(self.document_key(record.job_key, RESULT_FILE), record.model_dump_json(indent=2).encode())


class Workspace:
    def __init__(self, root: Path, keep_failed: int) -> None:
        self.root = root
        self.keep_failed = keep_failed
        self.root.mkdir(parents=True, exist_ok=True)

    def create(self, key: str) -> Path:
        """A fresh folder for one run; random suffix so concurrent runs of one key never share."""
        return Path(tempfile.mkdtemp(dir=self.root, prefix=f"{key}."))

    def discard(self, workdir: Path) -> None:
        shutil.rmtree(workdir, ignore_errors=True)

    def keep_failed_run(self, workdir: Path) -> None:
        """Move a failed run's folder to `failed/` for inspection; prune the oldest beyond the bound."""
        if self.keep_failed == 0:
            self.discard(workdir)
            return
        failed = self.root / FAILED_DIR
        failed.mkdir(exist_ok=True)
        kept = workdir.rename(failed / workdir.name)
        os.utime(kept)
        folders = sorted(failed.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in folders[self.keep_failed:]:
            log.info("pruning old failed work folder %s", old.name)
            shutil.rmtree(old, ignore_errors=True)

    def sweep_abandoned(self, older_than_seconds: float) -> list[str]:
        """Delete run folders left by replicas killed mid-run: older than any recipe may take."""
        deadline = time.time() - older_than_seconds
        abandoned = [p for p in self.root.iterdir() if p.is_dir() and p.name != FAILED_DIR and p.stat().st_mtime < deadline]
        for folder in abandoned:
            shutil.rmtree(folder, ignore_errors=True)
        return [folder.name for folder in abandoned]
