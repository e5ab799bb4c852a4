"""Where the installed ESO pipeline keeps its files, found through dpkg or a glob, never by version."""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

from shared.errors import ConfigError

_SHARE_GLOBS = ("/usr/share/cpl-plugins/{plugin}-*", "/usr/local/share/cpl-plugins/{plugin}-*")


@cache
def plugin_share_dir(plugin: str = "uves") -> Path:
    """The `share/cpl-plugins/<plugin>-<version>/` folder of an installed CPL plugin."""
    for path in _dpkg_files(f"cpl-plugin-{plugin}"):
        match = re.search(rf"^(.*/share/cpl-plugins/{plugin}-[^/]+)/", path)
        if match:
            return Path(match.group(1))
    for pattern in _SHARE_GLOBS:
        found = sorted(Path("/").glob(pattern.format(plugin=plugin).lstrip("/")))
        if found:
            return found[-1]
    raise ConfigError(
        f"the ESO {plugin.upper()} pipeline is not installed (no share/cpl-plugins/{plugin}-*): "
        f"run `make setup` or `apt-get install cpl-plugin-{plugin}`"
    )


def oca_rules_file(plugin: str = "uves") -> Path:
    """ESO's own classification/organisation/association rules shipped with the pipeline."""
    return _existing(plugin_share_dir(plugin) / "gasgano" / "config" / f"{plugin}.oca")


def qc_dictionary_file(plugin: str = "uves") -> Path:
    """The pipeline's QC keyword dictionary (ESO-DFS-DIC.UVES_QC; the giraf plugin's is ...GIRAFFE_QC)."""
    folder = plugin_share_dir(plugin) / "dic"
    found = sorted(folder.glob("ESO-DFS-DIC.*_QC"))
    return _existing(found[0] if found else folder / f"ESO-DFS-DIC.{plugin.upper()}_QC")


def pipeline_version(plugin: str = "uves") -> str:
    """Version of the installed plugin, read from its folder name (e.g. `6.1.8`)."""
    return plugin_share_dir(plugin).name.split("-", 1)[1]


def esorex_executable() -> str:
    path = shutil.which("esorex")
    if path is None:
        raise ConfigError("esorex is not installed: run `make setup` or `apt-get install esorex`")
    return path


def _dpkg_files(package: str) -> list[str]:
    if shutil.which("dpkg") is None:
        return []
    result = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=False)
    return result.stdout.splitlines() if result.returncode == 0 else []


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise ConfigError(f"expected pipeline file is missing: {path}")
    return path
