"""Where the simulated UVES puts light: computed once at 1x1, held to the real instrument, binned, shifted per night.

The pipeline's physical model (`model.spectral_format`) gives every order's trace, blaze and
λ(X) at 1x1. Where a real ESO line table exists for the setting and chip (`realarcs`), the
model's wavelength-to-X mapping is corrected to the real one by a smooth per-chip
polynomial ΔX(X, order) fitted to the real lines; other settings keep the physical model.
Binning is then exact pixel arithmetic on that 1x1 geometry (the pipeline's model run at 2x2
disagrees with its own 1x1 run by 0.3 % in scale), and every night is shifted rigidly by a
few pixels, as real nights drift with temperature and pressure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np

from tools.simulator.instrument import Arm, Setting
from tools.simulator.model import TRACE_DEGREE, WAVE_DEGREE, ChipModel, OrderModel, SpectralFormat, spectral_format
from tools.simulator.realarcs import RealLines, real_lines
from tools.simulator.render import FWHM_PER_SIGMA

# ΔX(X, order) is a 2D polynomial: cubic along X, quadratic across orders, with cross terms.
CORRECTION_X_DEGREE = 3
CORRECTION_ORDER_DEGREE = 2
CORRECTION_CLIP_SIGMA = 4.0
CORRECTION_ITERATIONS = 5
# Night-to-night drift at 1x1: two real blue 390 arcs taken on different nights differ by a
# rigid 4.4 px along X; across orders real nights move less than a pixel.
NIGHT_SHIFT_X_SIGMA_PX = 2.0
NIGHT_SHIFT_X_LIMIT_PX = 5.0
NIGHT_SHIFT_Y_SIGMA_PX = 0.4
NIGHT_SHIFT_Y_LIMIT_PX = 1.0
# Gaussian width along X of an unresolved line at 1x1: the slit image (a top hat w·s pixels
# wide, σ = w·s/√12) convolved with the optics (σ_optics). Calibrated on the widths of the
# real arcs' lines (Xwidth, less the 1/12 px² of pixel integration): blue 1.06 px at 0.4" and
# 1.55 px at 1.0" give s and σ_optics; red 1.71 px at 0.8" gives σ_optics with s scaled by
# the ratio of the arms' pixel scales along the slit (0.215"/0.155").
SLIT_IMAGE_PX_PER_ARCSEC: dict[Arm, float] = {Arm.BLUE: 4.27, Arm.RED: 5.93}
OPTICS_SIGMA_PX: dict[Arm, float] = {Arm.BLUE: 0.89, Arm.RED: 0.98}


@dataclass(frozen=True)
class XCorrection:
    """ΔX (1x1 pixels) to add to the model's X at a given model X and absolute order."""

    coeffs: np.ndarray
    x_centre: float
    x_half: float
    order_centre: float
    order_half: float

    def __call__(self, x: np.ndarray, order: np.ndarray | int) -> np.ndarray:
        design = _design(
            (np.asarray(x, dtype=float) - self.x_centre) / self.x_half,
            (np.asarray(order, dtype=float) - self.order_centre) / self.order_half,
        )
        return design @ self.coeffs


def _design(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    u, v = np.broadcast_arrays(np.atleast_1d(u), np.atleast_1d(v))
    terms = [u**i * v**j for i in range(CORRECTION_X_DEGREE + 1) for j in range(CORRECTION_ORDER_DEGREE + 1)]
    return np.stack(terms, axis=-1)


def model_x(chip: ChipModel, order: np.ndarray, wave: np.ndarray) -> np.ndarray:
    """X where the model puts each (order, wavelength); NaN where the model has no such order or λ."""
    x = np.full(wave.size, np.nan)
    for model in chip.orders:
        on = order == model.order
        if on.any():
            x[on] = model.x_of_wavelength(wave[on])
    return x


def fit_x_correction(chip: ChipModel, real: RealLines) -> XCorrection:
    """Least-squares ΔX(X, order) = real X − model X over the real lines, outliers clipped."""
    x = model_x(chip, real.order, real.wave)
    usable = np.isfinite(x)
    x, order, delta = x[usable], real.order[usable].astype(float), real.x[usable] - x[usable]
    centre_x, half_x = 0.5 * (x.min() + x.max()), 0.5 * (x.max() - x.min())
    centre_o, half_o = 0.5 * (order.min() + order.max()), max(0.5 * (order.max() - order.min()), 1.0)
    design = _design((x - centre_x) / half_x, (order - centre_o) / half_o)
    keep = np.ones(delta.size, dtype=bool)
    for _ in range(CORRECTION_ITERATIONS):
        coeffs, *_ = np.linalg.lstsq(design[keep], delta[keep], rcond=None)
        residual = delta - design @ coeffs
        scatter = 1.4826 * np.median(np.abs(residual[keep] - np.median(residual[keep])))
        keep = np.abs(residual) < CORRECTION_CLIP_SIGMA * max(scatter, 0.05)
    return XCorrection(coeffs, centre_x, half_x, centre_o, half_o)


def corrected_order(order: OrderModel, correction: XCorrection) -> OrderModel:
    """The order with λ(X), trace and blaze moved along X by ΔX(X, order)."""
    x = np.linspace(order.x_min, order.x_max, 400)
    moved = x + correction(x, order.order)
    x_min, x_max = float(moved.min()), float(moved.max())
    scaled = (moved - 0.5 * (x_min + x_max)) / (0.5 * (x_max - x_min))
    wave = order.wavelength(x)
    wave_coeffs = np.polyfit(scaled, wave, WAVE_DEGREE)
    dispersion = np.gradient(np.polyval(wave_coeffs, scaled), moved)
    residual_px = (wave - np.polyval(wave_coeffs, scaled)) / dispersion
    blaze_x = np.asarray(order.blaze_x)
    return order.model_copy(
        update={
            "x_min": x_min,
            "x_max": x_max,
            "wave_coeffs": wave_coeffs.tolist(),
            "trace_coeffs": np.polyfit(scaled, order.trace(x), TRACE_DEGREE).tolist(),
            "blaze_x": (blaze_x + correction(blaze_x, order.order)).tolist(),
            "wave_fit_rms_px": float(np.sqrt(np.mean(residual_px**2))),
        }
    )


def unbinned(setting: Setting) -> Setting:
    return setting.model_copy(update={"binx": 1, "biny": 1})


@cache
def real_format(setting: Setting) -> SpectralFormat:
    """The 1x1 geometry of a setting: the physical model, corrected per chip where a real line table exists."""
    model = spectral_format(unbinned(setting))
    chips = []
    for chip in model.chips:
        real = real_lines(f"{setting.arm.value}{setting.wlen_nm}", chip.chip)
        if real is None:
            chips.append(chip)
            continue
        correction = fit_x_correction(chip, real)
        chips.append(chip.model_copy(update={"orders": [corrected_order(o, correction) for o in chip.orders]}))
    return model.model_copy(update={"chips": chips})


def binned_coordinate(unbinned_px: float | np.ndarray, binning: int) -> float | np.ndarray:
    """1-based pixel-centre coordinate on a binned frame of a 1-based unbinned one."""
    return (unbinned_px + 0.5 * (binning - 1)) / binning


def binned_order(order: OrderModel, binx: int, biny: int) -> OrderModel:
    """The same order on a binned frame: X range and blaze samples rescaled, trace in binned rows."""
    x_min, x_max = binned_coordinate(order.x_min, binx), binned_coordinate(order.x_max, binx)
    trace = np.asarray(order.trace_coeffs, dtype=float) / biny
    trace[-1] += 0.5 * (biny - 1) / biny
    return order.model_copy(
        update={
            "x_min": float(x_min),
            "x_max": float(x_max),
            "trace_coeffs": trace.tolist(),
            "line_fwhm_px": order.line_fwhm_px / binx,
            "slit_length_px": order.slit_length_px / biny,
            "blaze_x": [float(binned_coordinate(x, binx)) for x in order.blaze_x],
            "wave_fit_rms_px": order.wave_fit_rms_px / binx,
        }
    )


def shifted_order(order: OrderModel, dx: float, dy: float) -> OrderModel:
    """The order moved rigidly by (dx, dy) pixels: λ(X − dx), trace(X − dx) + dy."""
    trace = np.asarray(order.trace_coeffs, dtype=float)
    trace[-1] += dy
    return order.model_copy(
        update={
            "x_min": order.x_min + dx,
            "x_max": order.x_max + dx,
            "trace_coeffs": trace.tolist(),
            "blaze_x": [x + dx for x in order.blaze_x],
        }
    )


def _map_orders(fmt: SpectralFormat, change) -> SpectralFormat:
    chips = [chip.model_copy(update={"orders": [change(o) for o in chip.orders]}) for chip in fmt.chips]
    return fmt.model_copy(update={"chips": chips})


def instrument_format(setting: Setting) -> SpectralFormat:
    """The setting's geometry at its binning, before any nightly drift."""
    fmt = real_format(unbinned(setting))
    fmt = _map_orders(fmt, lambda order: binned_order(order, setting.binx, setting.biny))
    return fmt.model_copy(update={"setting": setting})


def night_shift_px(night: date, seed: int, arm: Arm) -> tuple[float, float]:
    """The rigid (dx, dy) drift of an arm on a night, in 1x1 pixels: fixed for a night and seed."""
    rng = np.random.default_rng([seed, 4, night.toordinal(), list(Arm).index(arm)])
    dx = float(np.clip(rng.normal(0.0, NIGHT_SHIFT_X_SIGMA_PX), -NIGHT_SHIFT_X_LIMIT_PX, NIGHT_SHIFT_X_LIMIT_PX))
    dy = float(np.clip(rng.normal(0.0, NIGHT_SHIFT_Y_SIGMA_PX), -NIGHT_SHIFT_Y_LIMIT_PX, NIGHT_SHIFT_Y_LIMIT_PX))
    return dx, dy


def night_format(setting: Setting, night: date, seed: int) -> SpectralFormat:
    """The geometry of a setting on one night: the instrument's, drifted rigidly."""
    dx, dy = night_shift_px(night, seed, setting.arm)
    fmt = instrument_format(setting)
    return _map_orders(fmt, lambda order: shifted_order(order, dx / setting.binx, dy / setting.biny))


def line_sigma_px(arm: Arm, slit_arcsec: float) -> float:
    """Gaussian σ along X (1x1 pixels) of an unresolved line seen through a slit of that width."""
    slit_px = slit_arcsec * SLIT_IMAGE_PX_PER_ARCSEC[arm]
    return float(np.hypot(slit_px / np.sqrt(12.0), OPTICS_SIGMA_PX[arm]))


def with_slit(fmt: SpectralFormat, slit_arcsec: float) -> SpectralFormat:
    """The geometry with every order's line width set for an exposure through that slit."""
    setting = fmt.setting
    fwhm = FWHM_PER_SIGMA * line_sigma_px(setting.arm, slit_arcsec) / setting.binx
    return _map_orders(fmt, lambda order: order.model_copy(update={"line_fwhm_px": fwhm}))
