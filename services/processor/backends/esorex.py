"""The real backend: ESO's `esorex` as a subprocess, one fresh working folder per job.

The recipe runs in its own process group with the working folder as its current directory
(recipes write fixed file names there), its stdout and stderr go to the job's log file, and
on timeout or cancellation (a service shutting down) the whole group is killed, so no recipe
outlives the job that started it.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from services.processor.backends import Frame, ProductFile, QcValue, RecipeJob, RecipeResult
from shared.errors import ConfigError
from shared.fitsheader import primary_cards
from shared.pipeline_install import esorex_executable
from shared.pipeline_install import pipeline_version as installed_version

log = logging.getLogger(__name__)

SOF_NAME = "job.sof"
OUTPUT_DIR = "out"
LOG_NAME = "recipe.log"
ESOREX_LOG_NAME = "esorex.log"
ERROR_LINES = 5
PR_SET_PDEATHSIG = 1


class EsorexBackend:
    def __init__(self, executable: str, esorex_version: str) -> None:
        self.executable = executable
        self.esorex_version = esorex_version

    @classmethod
    async def installed(cls) -> EsorexBackend:
        """The esorex installed on this host; ConfigError when missing."""
        executable = esorex_executable()
        return cls(executable, await esorex_version_of(executable))

    def pipeline_version(self, pipeline: str) -> str:
        """`<plugin>-<version>` of an installed CPL plugin; ConfigError when it is not installed."""
        return f"{pipeline}-{installed_version(pipeline)}"

    async def run(self, job: RecipeJob) -> RecipeResult:
        job.workdir.mkdir(parents=True, exist_ok=True)
        write_sof(job.frames, job.workdir / SOF_NAME)
        (job.workdir / OUTPUT_DIR).mkdir(exist_ok=True)
        log_path = job.workdir / LOG_NAME
        started = time.perf_counter()
        exit_code = await self._run_process(job, log_path)
        duration = time.perf_counter() - started
        products = await asyncio.to_thread(collect_products, job.workdir / OUTPUT_DIR) if exit_code == 0 else []
        return RecipeResult(
            exit_code=exit_code,
            products=products,
            log_path=log_path,
            duration_seconds=duration,
            esorex_version=self.esorex_version,
            pipeline_version=self.pipeline_version(job.pipeline),
            failure_reason=failure_reason(job, exit_code, log_path),
        )

    def command(self, job: RecipeJob) -> list[str]:
        return [
            self.executable,
            f"--output-dir={OUTPUT_DIR}",
            "--log-dir=.",
            f"--log-file={ESOREX_LOG_NAME}",
            job.recipe,
            *(f"--{name}={value}" for name, value in job.parameters.items()),
            SOF_NAME,
        ]

    async def _run_process(self, job: RecipeJob, log_path: Path) -> int | None:
        """The recipe's exit code, or None when it overran its time limit and was killed."""
        with open(log_path, "wb") as log_file:
            process = await asyncio.create_subprocess_exec(
                *self.command(job),
                cwd=job.workdir,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
                env={**os.environ, "OMP_NUM_THREADS": str(job.omp_threads)},
            )
            log.info("recipe %s started (pid %d) in %s", job.recipe, process.pid, job.workdir.name)
            try:
                return await asyncio.wait_for(process.wait(), job.timeout_seconds)
            except TimeoutError:
                log.warning("%s overran its %.0f s limit; killing process group %d", job.recipe, job.timeout_seconds, process.pid)
                return None
            finally:
                if process.returncode is None:
                    await _kill_group(process)


def _die_with_parent() -> None:
    """In the child before exec: a replica killed with SIGKILL takes its recipes with it
    (its own process group would otherwise outlive it, computing for no one)."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


async def _kill_group(process: asyncio.subprocess.Process) -> None:
    # The leader is not reaped yet, so its pid still names our group and cannot be reused.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    await asyncio.shield(process.wait())


async def esorex_version_of(executable: str) -> str:
    process = await asyncio.create_subprocess_exec(
        executable, "--version", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        cwd="/tmp", start_new_session=True,
    )
    output, _ = await process.communicate()
    match = re.search(r"version\s+(\S+)", output.decode(errors="replace"))
    if match is None:
        raise ConfigError(f"cannot tell the esorex version from `{executable} --version`")
    return f"esorex-{match.group(1)}"


def write_sof(frames: list[Frame], path: Path) -> None:
    """One `path TAG` line per frame; esorex takes each frame's type from its tag."""
    path.write_text("".join(f"{frame.path} {frame.tag}\n" for frame in frames))


PRO_CATG, QC_PREFIX = "ESO PRO CATG", "ESO QC "
"""The product header keywords the processor reads, as astropy names HIERARCH cards."""


def collect_products(folder: Path) -> list[ProductFile]:
    """Every FITS file the recipe wrote that names its PRO.CATG, with its QC keywords."""
    products = []
    for path in sorted(folder.glob("*.fits")):
        cards = primary_cards(path, (PRO_CATG, QC_PREFIX))
        category = cards.get(PRO_CATG)
        if category:
            products.append(ProductFile(path=path, pro_catg=str(category), qc=qc_keywords(cards)))
        else:
            log.warning("%s has no PRO.CATG; not a product", path.name)
    return products


def qc_keywords(cards: Mapping[str, object]) -> dict[str, QcValue]:
    """`HIERARCH ESO QC A B` (astropy's `ESO QC A B`) → `QC.A.B`, booleans as 0/1."""
    qc: dict[str, QcValue] = {}
    for keyword, value in cards.items():
        if keyword.startswith(QC_PREFIX):
            qc["QC." + ".".join(keyword.split()[2:])] = int(value) if isinstance(value, bool) else value  # type: ignore[assignment]
    return qc


def failure_reason(job: RecipeJob, exit_code: int | None, log_path: Path) -> str:
    if exit_code == 0:
        return ""
    if exit_code is None:
        return f"{job.recipe} timed out after {job.timeout_seconds:.0f} s and was killed"
    return f"{job.recipe} failed with exit code {exit_code}: {last_errors(log_path)}"


def last_errors(log_path: Path) -> str:
    """The last error lines of the recipe's output, or its last lines when none says ERROR."""
    lines = [line.strip() for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    errors = [line for line in lines if "ERROR" in line]
    return " | ".join((errors or lines)[-ERROR_LINES:])
