"""Run the real UVES recipe cascade on simulated raw frames, each recipe in its own working folder."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from astropy.io import fits

from shared.pipeline_install import esorex_executable

RAW_TAG_BY_DPR_TYPE = {
    "BIAS": "BIAS",
    "LAMP,FMTCHK": "ARC_LAMP_FORM",
    "LAMP,ORDERDEF": "ORDER_FLAT",
    "LAMP,FLAT": "FLAT",
    "LAMP,WAVE": "ARC_LAMP",
    "OBJECT,POINT": "SCI_POINT",
}

# recipe, raw tag, product categories (without chip suffix) it needs
CASCADE: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("uves_cal_mbias", "BIAS", ()),
    ("uves_cal_predict", "ARC_LAMP_FORM", ("MASTER_BIAS", "LINE_REFER_TABLE")),
    ("uves_cal_orderpos", "ORDER_FLAT", ("ORDER_GUESS_TAB",)),
    ("uves_cal_mflat", "FLAT", ("MASTER_BIAS", "ORDER_TABLE")),
    ("uves_cal_wavecal", "ARC_LAMP", ("MASTER_BIAS", "ORDER_TABLE", "LINE_GUESS_TAB", "LINE_REFER_TABLE")),
    ("uves_obs_scired", "SCI_POINT", ("MASTER_BIAS", "ORDER_TABLE", "LINE_TABLE", "MASTER_FLAT")),
)


@dataclass
class RecipeRun:
    recipe: str
    returncode: int
    workdir: Path
    products: dict[str, list[Path]] = field(default_factory=dict)
    stdout: str = ""

    def product(self, category: str) -> Path:
        return self.products[category][0]

    def qc(self, category: str) -> fits.Header:
        with fits.open(self.product(category)) as hdul:
            return hdul[0].header.copy()


def classify(raw_folder: Path, arm: str) -> dict[str, list[Path]]:
    """Raw files of one arm by raw tag (e.g. `ARC_LAMP_FORM` → files), in time order."""
    chips = 1 if arm == "blue" else 2
    by_tag: dict[str, list[Path]] = {}
    for path in sorted(raw_folder.glob("UVES.*.fits")):
        header = fits.getheader(path)
        if header.get("HIERARCH ESO DET CHIPS") != chips:
            continue
        tag = RAW_TAG_BY_DPR_TYPE[header["HIERARCH ESO DPR TYPE"]]
        by_tag.setdefault(tag, []).append(path)
    return by_tag


def run_recipe(recipe: str, frames: list[tuple[Path, str]], workdir: Path, *params: str) -> RecipeRun:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "out").mkdir(exist_ok=True)
    sof = workdir / "input.sof"
    sof.write_text("".join(f"{path} {tag}\n" for path, tag in frames))
    command = [esorex_executable(), "--output-dir=out", "--log-dir=.", recipe, *params, sof.name]
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=600)
    run = RecipeRun(recipe, result.returncode, workdir, stdout=result.stdout + result.stderr)
    for product in sorted((workdir / "out").glob("*.fits")):
        category = fits.getheader(product).get("HIERARCH ESO PRO CATG")
        if category:
            run.products.setdefault(category, []).append(product)
    return run


def run_cascade(raw_folder: Path, arm: str, line_refer_table: Path, workroot: Path) -> dict[str, RecipeRun]:
    """The whole chain for one arm; calibration products feed the next recipe by PRO.CATG."""
    raws = classify(raw_folder, arm)
    products: dict[str, list[Path]] = {"LINE_REFER_TABLE": [line_refer_table]}
    runs: dict[str, RecipeRun] = {}
    for step in CASCADE:
        run = run_recipe(step[0], _frames(step, raws, arm, products), workroot / f"{arm}-{step[0]}")
        runs[step[0]] = run
        for category, paths in run.products.items():
            products.setdefault(category, []).extend(paths)
    return runs


def run_step(raw_folder: Path, arm: str, recipe: str, upstream: dict[str, RecipeRun], workroot: Path) -> RecipeRun:
    """One recipe of the chain on `raw_folder`, fed with the products the recipes before it made in
    `upstream` (the chain run on the same calibration frames): for a night that differs from that
    one only in `recipe`'s raw frames. Not for the recipes that take the LINE_REFER_TABLE (predict, wavecal)."""
    step = CASCADE[_recipes().index(recipe)]
    products = _products_before(recipe, upstream)
    return run_recipe(recipe, _frames(step, classify(raw_folder, arm), arm, products), workroot / f"{arm}-{recipe}")


def run_science(raws: list[Path], arm: str, upstream: dict[str, RecipeRun], workroot: Path) -> list[RecipeRun]:
    """uves_obs_scired on each of these science frames of the arm, one run (and folder) per frame, with
    the calibrations the cascade `upstream` made (which itself reduced only the arm's first science frame)."""
    step = CASCADE[-1]
    products = _products_before(step[0], upstream)
    return [
        run_recipe(step[0], _frames(step, {step[1]: [raw]}, arm, products), workroot / f"{arm}-{step[0]}-{raw.stem}")
        for raw in raws
    ]


def _recipes() -> list[str]:
    return [step[0] for step in CASCADE]


def _products_before(recipe: str, upstream: dict[str, RecipeRun]) -> dict[str, list[Path]]:
    """Category → paths of every product the recipes before `recipe` made in `upstream`."""
    products: dict[str, list[Path]] = {}
    for earlier in _recipes()[: _recipes().index(recipe)]:
        for category, paths in upstream[earlier].products.items():
            products.setdefault(category, []).extend(paths)
    return products


def _frames(step: tuple[str, str, tuple[str, ...]], raws: dict[str, list[Path]], arm: str,
            products: dict[str, list[Path]]) -> list[tuple[Path, str]]:
    """The set of frames of one recipe: its raw frames (one science frame) and the products it needs."""
    _, raw_tag, needs = step
    suffix = "BLUE" if arm == "blue" else "RED"
    frames = [(path, f"{raw_tag}_{suffix}") for path in raws[raw_tag][: 1 if raw_tag == "SCI_POINT" else None]]
    for category, paths in products.items():
        if any(category == need or category.rsplit("_", 1)[0] == need for need in needs):
            frames.extend((path, category) for path in paths)
    return frames
