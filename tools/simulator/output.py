"""Writing a simulated night: every instrument's frames appear in the target folder at once or not at all."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ConfigError


class NightResult(BaseModel):
    """What was written: the folder and the raw file names in time order."""

    model_config = ConfigDict(frozen=True)

    folder: Path
    raw_files: list[str] = Field(description="ARCFILE names written, in time order")
    truth_files: list[str] = Field(description="truth JSON names written beside the science frames")


@contextmanager
def staging_folder(out: Path) -> Iterator[Path]:
    """A temporary folder beside the target (same file system, so the final move is a rename)."""
    parent = out.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=parent))
        staging.chmod(0o777 & ~_umask())
    except OSError as error:
        raise ConfigError(f"cannot write the simulated night under {parent}: {error.strerror or error}") from error
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def publish(staging: Path, out: Path) -> None:
    """Move the finished files into `out`; refuse to overwrite frames already there."""
    names = sorted(path.name for path in staging.iterdir())
    if out.exists():
        clashes = [name for name in names if (out / name).exists()]
        if clashes:
            raise ConfigError(
                f"{out} already holds {len(clashes)} of these frames (e.g. {clashes[0]}): choose another folder or seed"
            )
        if not os.access(out, os.W_OK):
            raise ConfigError(f"cannot write into {out}: permission denied")
        for name in names:
            os.replace(staging / name, out / name)
        return
    try:
        os.replace(staging, out)
    except OSError as error:
        raise ConfigError(f"cannot create {out}: {error.strerror or error}") from error


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
