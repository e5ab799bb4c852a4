"""What running one pipeline recipe takes and gives, whatever runs it.

`PipelineBackend` is the boundary: a job (recipe, tagged frames, parameters, a fresh working
folder, a time limit) goes in, a result (exit code, products by PRO.CATG with their QC
keywords, the log, timings, versions) comes out. `esorex.EsorexBackend` is the real one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

QcValue = float | int | str


class Frame(BaseModel):
    """One line of a set-of-frames file."""

    model_config = ConfigDict(frozen=True)

    path: Path
    tag: str = Field(pattern=r"^[A-Z0-9_]+$", description="esorex frame tag (DO.CATG or PRO.CATG).")


class RecipeJob(BaseModel):
    model_config = ConfigDict(frozen=True)

    recipe: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    pipeline: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="CPL plugin of the recipe, e.g. uves, giraf.")
    frames: list[Frame] = Field(min_length=1)
    parameters: dict[str, str] = Field(default_factory=dict, description="Recipe parameter → esorex value text.")
    workdir: Path = Field(description="A fresh, empty folder: the recipe's current directory.")
    timeout_seconds: float = Field(gt=0)
    omp_threads: int = Field(default=1, ge=1)


class ProductFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: Path
    pro_catg: str
    qc: dict[str, QcValue] = Field(default_factory=dict, description="`QC.…` keyword → value, from the primary header.")


class RecipeResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    exit_code: int | None = Field(description="The recipe's exit status; None when it was killed on timeout.")
    products: list[ProductFile] = Field(default_factory=list)
    log_path: Path
    duration_seconds: float = Field(ge=0)
    esorex_version: str
    pipeline_version: str
    failure_reason: str = Field(default="", description="Why the run failed; empty when it exited 0.")

    @property
    def timed_out(self) -> bool:
        return self.exit_code is None

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0


class PipelineBackend(Protocol):
    esorex_version: str

    def pipeline_version(self, pipeline: str) -> str:
        """`<plugin>-<version>` of the installed CPL plugin, e.g. giraf-2.16.10."""
        ...

    async def run(self, job: RecipeJob) -> RecipeResult: ...
