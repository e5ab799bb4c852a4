"""Processor settings (`PHOENIX_PROCESSOR_*`). Where files live comes from StorageSettings
(`PHOENIX_DATA_DIR`); how many recipes run at once from the runtime's `PHOENIX_CONCURRENCY`,
which defaults to the number of cores for the processor."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ProcessorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHOENIX_PROCESSOR_", extra="ignore")

    omp_threads: int = Field(default=1, ge=1, description="OMP_NUM_THREADS of each recipe.")
    default_timeout_seconds: float = Field(
        default=1800.0, gt=0, description="Time limit of a recipe whose recipes.toml entry names none."
    )
    keep_failed_workdirs: int = Field(
        default=20, ge=0, description="Work folders of failed runs kept for inspection (newest first)."
    )
