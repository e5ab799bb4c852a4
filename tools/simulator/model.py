"""Where UVES puts light, taken from the pipeline's own physical model and cached.

`uves_cal_predict --debug=TRUE` on a blank format-check frame with a dense probe list (one
"line" every 0.5 Å) writes `model_prediction_<chip>.fits`: for every probe wavelength that
lands on the chip, its order and position (XMOD, YMOD) in the rotated, binned frame, the
line width and the blaze. Per order we fit λ(X) and the trace Y(X) and keep the blaze samples;
that is all the renderer needs. One run per setting, cached by setting, binning and pipeline version.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from datetime import datetime
from functools import cached_property
from pathlib import Path

import numpy as np
from astropy.table import Table
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ConfigError, DataError
from shared.pipeline_install import esorex_executable, pipeline_version
from tools.simulator.frames import no_light, raw_file
from tools.simulator.headers import Exposure, FrameKind
from tools.simulator.instrument import Arm, Setting
from tools.simulator.thar import LineList, write_line_refer_table

log = logging.getLogger(__name__)

PROBE_STEP_ANGSTROM = 0.5
PROBE_RANGE_ANGSTROM: dict[Arm, tuple[float, float]] = {
    Arm.BLUE: (2900.0, 5000.0),
    Arm.RED: (4100.0, 11000.0),
}
WAVE_DEGREE = 5
TRACE_DEGREE = 4
MIN_PROBES_PER_ORDER = 12
PREDICT_TIMEOUT_S = 300


class OrderModel(BaseModel):
    """One echelle order on one chip, in the rotated binned frame (1-based pixel coordinates)."""

    model_config = ConfigDict(frozen=True)

    order: int = Field(description="absolute echelle order number")
    x_min: float = Field(description="first X with a predicted probe")
    x_max: float = Field(description="last X with a predicted probe")
    wave_coeffs: list[float] = Field(
        description="λ(X) in Å, numpy.polyfit order (highest power first), X scaled"
    )
    trace_coeffs: list[float] = Field(description="Y(X) in pixels, numpy.polyfit order, X scaled")
    line_fwhm_px: float = Field(description="median FWHM of an unresolved line along X (LINEWIDPX)")
    slit_length_px: float = Field(description="median slit image length along Y (LINELENPX)")
    blaze_x: list[float] = Field(description="X of the blaze samples")
    blaze: list[float] = Field(description="blaze efficiency (0..1) at blaze_x")
    wave_fit_rms_px: float = Field(description="rms of the λ(X) fit expressed as X residual")

    def wavelength(self, x: np.ndarray) -> np.ndarray:
        return np.polyval(self.wave_coeffs, self._scaled(x))

    def trace(self, x: np.ndarray) -> np.ndarray:
        return np.polyval(self.trace_coeffs, self._scaled(x))

    def efficiency(self, x: np.ndarray) -> np.ndarray:
        return np.interp(x, self.blaze_x, self.blaze)

    def x_of_wavelength(self, wave: np.ndarray) -> np.ndarray:
        """X where each wavelength falls (NaN outside the order), by inverting λ(X) on a fine grid."""
        grid = self._fine_grid
        waves = self.wavelength(grid)
        if waves[0] > waves[-1]:
            grid, waves = grid[::-1], waves[::-1]
        x = np.interp(wave, waves, grid, left=np.nan, right=np.nan)
        return x

    @cached_property
    def _fine_grid(self) -> np.ndarray:
        return np.linspace(self.x_min, self.x_max, int((self.x_max - self.x_min) * 8) + 2)

    def _scaled(self, x: np.ndarray) -> np.ndarray:
        centre, half = 0.5 * (self.x_min + self.x_max), 0.5 * (self.x_max - self.x_min)
        return (np.asarray(x, dtype=float) - centre) / half


class ChipModel(BaseModel):
    model_config = ConfigDict(frozen=True)

    chip: str = Field(examples=["REDL"])
    orders: list[OrderModel]


class SpectralFormat(BaseModel):
    """The predicted spectral format of one setting (all chips)."""

    model_config = ConfigDict(frozen=True)

    setting: Setting
    pipeline_version: str
    chips: list[ChipModel]

    def chip(self, name: str) -> ChipModel:
        return next(chip for chip in self.chips if chip.chip == name)


def cache_dir() -> Path:
    base = os.environ.get("PHOENIX_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "phoenix"
    )
    return Path(base) / "uves-model"


def spectral_format(setting: Setting) -> SpectralFormat:
    """The cached spectral format of a setting, computed with the pipeline on first use."""
    version = pipeline_version("uves")
    path = cache_dir() / version / f"{setting.key}.json"
    if path.is_file():
        return SpectralFormat.model_validate_json(path.read_text())
    log.info("running the UVES physical model for %s (pipeline %s)", setting.key, version)
    model = predict_spectral_format(setting, version)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as handle:
        handle.write(model.model_dump_json())
    os.replace(handle.name, path)
    return model


def predict_spectral_format(setting: Setting, version: str) -> SpectralFormat:
    """Run uves_cal_predict once in its own working folder and fit the per-order model."""
    with tempfile.TemporaryDirectory(prefix=f"phoenix-model-{setting.key}-") as work:
        workdir = Path(work)
        frame = workdir / "fmtchk.fits"
        exposure = _blank_format_check(setting)
        raw_file(exposure, no_light(exposure), np.random.default_rng(0)).writeto(frame)
        probes = write_line_refer_table(workdir / "probes.fits", _probe_lines(setting.arm))
        _run_predict(workdir, frame, probes, setting)
        chips = [
            ChipModel(
                chip=chip.name,
                orders=fit_orders(Table.read(workdir / f"model_prediction_{chip.name.lower()}.fits")),
            )
            for chip in setting.chips
        ]
    return SpectralFormat(setting=setting, pipeline_version=version, chips=chips)


def fit_orders(prediction: Table) -> list[OrderModel]:
    """Per-order fits of the model's probe positions."""
    orders = []
    for order in np.unique(np.asarray(prediction["ORDER"], dtype=int)):
        rows = prediction[np.asarray(prediction["ORDER"], dtype=int) == order]
        rows.sort("XMOD")
        if len(rows) >= MIN_PROBES_PER_ORDER:
            orders.append(_fit_order(int(order), rows))
    return orders


def _fit_order(order: int, rows: Table) -> OrderModel:
    x = np.asarray(rows["XMOD"], dtype=float)
    wave = np.asarray(rows["WAVE"], dtype=float) * 10.0  # the table's WAVE is in nm
    y = np.asarray(rows["YMOD"], dtype=float)
    x_min, x_max = float(x.min()), float(x.max())
    scaled = (x - 0.5 * (x_min + x_max)) / (0.5 * (x_max - x_min))
    wave_coeffs = np.polyfit(scaled, wave, WAVE_DEGREE)
    trace_coeffs = np.polyfit(scaled, y, TRACE_DEGREE)
    dispersion = np.gradient(np.polyval(wave_coeffs, scaled), x)
    residual_px = (wave - np.polyval(wave_coeffs, scaled)) / dispersion
    return OrderModel(
        order=order,
        x_min=x_min,
        x_max=x_max,
        wave_coeffs=wave_coeffs.tolist(),
        trace_coeffs=trace_coeffs.tolist(),
        line_fwhm_px=float(np.median(rows["LINEWIDPX"])),
        slit_length_px=float(np.median(rows["LINELENPX"])),
        blaze_x=x.tolist(),
        blaze=np.clip(np.asarray(rows["BLAZE"], dtype=float), 0.0, 1.0).tolist(),
        wave_fit_rms_px=float(np.sqrt(np.mean(residual_px**2))),
    )


def _probe_lines(arm: Arm) -> LineList:
    low, high = PROBE_RANGE_ANGSTROM[arm]
    wave = np.arange(low, high, PROBE_STEP_ANGSTROM)
    return LineList(wave, np.full(wave.size, 100.0))


def _blank_format_check(setting: Setting) -> Exposure:
    start = datetime(2024, 1, 1, 12, 0, 0)
    return Exposure(
        kind=FrameKind.FORMAT_CHECK,
        setting=setting,
        start=start,
        exptime_s=5.0,
        object_name="LAMP,FMTCHK",
        obs_id=1,
        template_start=start,
    )


def _run_predict(workdir: Path, frame: Path, probes: Path, setting: Setting) -> None:
    tag = f"ARC_LAMP_FORM_{setting.arm.value.upper()}"
    sof = workdir / "predict.sof"
    sof.write_text(f"{frame} {tag}\n{probes} LINE_REFER_TABLE\n")
    (workdir / "out").mkdir()
    command = [
        esorex_executable(),
        "--output-dir=out",
        "--log-dir=.",
        "uves_cal_predict",
        "--debug=TRUE",
        sof.name,
    ]
    try:
        result = subprocess.run(
            command, cwd=workdir, capture_output=True, text=True, timeout=PREDICT_TIMEOUT_S
        )
    except subprocess.TimeoutExpired as error:
        raise DataError(f"uves_cal_predict timed out for {setting.key}") from error
    missing = [
        c.name for c in setting.chips if not (workdir / f"model_prediction_{c.name.lower()}.fits").is_file()
    ]
    if result.returncode != 0 or missing:
        tail = (result.stderr or result.stdout)[-2000:]
        raise ConfigError(
            f"uves_cal_predict gave no model prediction for {setting.key} (exit {result.returncode}): {tail}"
        )
