"""What a simulated night contains and when each exposure happens (pure: no rendering, no I/O)."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from shared.errors import ConfigError
from tools.simulator.headers import Exposure, FrameKind
from tools.simulator.instrument import Arm, Setting, parse_setting
from tools.simulator.observation import PARANAL_LATITUDE_DEG, PARANAL_LONGITUDE_DEG
from tools.simulator.spectra import STARS, Star

# The simulator renders the post-2004 (two-chip red, CCD-44b) spectral format.
FIRST_NIGHT = date(2004, 4, 1)
AFTERNOON_START_UTC = time(18, 30)
EVENING_TWILIGHT_UTC = time(23, 40)
MORNING_START_UTC = time(10, 30)
OVERHEAD_S = 35.0
TARGET_ACQUISITION_S = 420.0
MAX_AIRMASS = 1.8
CALIBRATION_EXPTIME_S: dict[FrameKind, float] = {
    FrameKind.BIAS: 0.0,
    FrameKind.FORMAT_CHECK: 8.0,
    FrameKind.ORDER_DEFINITION: 6.0,
    FrameKind.FLAT: 12.0,
    FrameKind.WAVE: 20.0,
}
# Slit of the ThAr arcs: the widths of the real arcs the geometry and lamp are calibrated on
# (blue 390 nm at 0.4", red 580 nm at 0.8"); science and other calibrations use 1.0".
ARC_SLIT_ARCSEC: dict[Arm, float] = {Arm.BLUE: 0.4, Arm.RED: 0.8}
LAMP_LINE_KINDS = (FrameKind.FORMAT_CHECK, FrameKind.WAVE)


class NightPlan(BaseModel):
    """A night of one instrument: settings observed, how many frames of each calibration, targets."""

    model_config = ConfigDict(frozen=True)

    night: date = Field(description="observing night (the evening's date)", examples=["2024-03-01"])
    seed: int = Field(0, ge=0, description="everything random derives from this")
    settings: tuple[Setting, ...] = Field(min_length=1)
    targets: int = Field(3, ge=0, le=len(STARS), description="science targets, each observed in every setting")
    biases: int = Field(5, ge=0, description="biases per arm and binning in the afternoon")
    morning_biases: int = Field(0, ge=0, description="further biases per arm and binning after the night")
    format_checks: int = Field(1, ge=0)
    order_definitions: int = Field(1, ge=0)
    flats: int = Field(3, ge=0)
    arcs: int = Field(1, ge=0)
    science_exptime_s: float = Field(1200.0, gt=0)


class NightPreset(BaseModel):
    """Defaults of a kind of night; every choice can be overridden from the command line."""

    model_config = ConfigDict(frozen=True)

    settings: tuple[str, ...]
    binning: str = "2x2"
    targets: int = 3
    biases: int = 5
    morning_biases: int = 0
    flats: int = 3


PRESETS: dict[str, NightPreset] = {
    # Smallest night the whole reduction chain runs on: tests use it.
    "small": NightPreset(settings=("blue390", "red580"), targets=1, biases=3),
    # A fuller night for demonstrations: four standard settings, several stars, morning biases.
    "demo": NightPreset(settings=("blue390", "blue437", "red580", "red860"), targets=4, morning_biases=3),
}


def night_plan(
    night: date,
    preset: str = "demo",
    seed: int = 0,
    binning: str | None = None,
    settings: list[str] | None = None,
    arms: list[str] | None = None,
    targets: int | None = None,
) -> NightPlan:
    """A plan from a preset, with any of its choices overridden."""
    if preset not in PRESETS:
        raise ConfigError(f"unknown night preset {preset!r}; known: {', '.join(PRESETS)}")
    if night < FIRST_NIGHT:
        raise ConfigError(f"night {night} is before {FIRST_NIGHT}: the simulator renders the post-2004 UVES format")
    chosen = PRESETS[preset]
    names = settings or list(chosen.settings)
    parsed = [parse_setting(name, binning or chosen.binning) for name in names]
    if arms:
        wanted = _parse_arms(arms)
        parsed = [setting for setting in parsed if setting.arm in wanted]
        if not parsed:
            raise ConfigError(f"no setting of {names} is on arm(s) {', '.join(arms)}")
    count = chosen.targets if targets is None else targets
    if not 0 <= count <= len(STARS):
        raise ConfigError(f"between 0 and {len(STARS)} targets can be simulated, not {count}")
    return NightPlan(
        night=night,
        seed=seed,
        settings=tuple(dict.fromkeys(parsed)),
        targets=count,
        biases=chosen.biases,
        morning_biases=chosen.morning_biases,
        flats=chosen.flats,
    )


def _parse_arms(arms: list[str]) -> set[Arm]:
    try:
        return {Arm(arm.strip().lower()) for arm in arms if arm.strip()}
    except ValueError as error:
        raise ConfigError(f"unknown UVES arm in {arms}: use blue and/or red") from error


class PlannedExposure(BaseModel):
    """An exposure plus, for science, the star observed."""

    model_config = ConfigDict(frozen=True)

    exposure: Exposure
    star: Star | None = None


def schedule(plan: NightPlan) -> list[PlannedExposure]:
    """Afternoon calibrations, science through the night, optional morning biases, in time order."""
    rng = np.random.default_rng([plan.seed, 1])
    afternoon = datetime.combine(plan.night, AFTERNOON_START_UTC)
    calibrations, _ = _calibrations(plan, afternoon, plan.biases, full=True, obs_id=100_000_000)
    science = _science(plan, datetime.combine(plan.night, EVENING_TWILIGHT_UTC), rng)
    morning = datetime.combine(plan.night + timedelta(days=1), MORNING_START_UTC)
    morning_biases, _ = _calibrations(plan, morning, plan.morning_biases, full=False, obs_id=100_500_000)
    return calibrations + science + morning_biases


def _calibrations(
    plan: NightPlan, start: datetime, biases: int, full: bool, obs_id: int
) -> tuple[list[PlannedExposure], datetime]:
    planned: list[PlannedExposure] = []
    clock = start
    bias_groups = dict.fromkeys((s.arm, s.binx, s.biny) for s in plan.settings)
    for arm, binx, biny in bias_groups:
        setting = next(s for s in plan.settings if (s.arm, s.binx, s.biny) == (arm, binx, biny))
        obs_id += 1
        clock = _template(planned, FrameKind.BIAS, setting, biases, clock, obs_id)
    if full:
        for setting in plan.settings:
            for kind, count in (
                (FrameKind.FORMAT_CHECK, plan.format_checks),
                (FrameKind.ORDER_DEFINITION, plan.order_definitions),
                (FrameKind.FLAT, plan.flats),
                (FrameKind.WAVE, plan.arcs),
            ):
                obs_id += 1
                clock = _template(planned, kind, setting, count, clock, obs_id)
    return planned, clock


def _template(
    planned: list[PlannedExposure],
    kind: FrameKind,
    setting: Setting,
    count: int,
    clock: datetime,
    obs_id: int,
) -> datetime:
    """Append one calibration template of `count` exposures; return the time it ends."""
    if count == 0:
        return clock
    template_start = clock.replace(microsecond=0)
    exptime = CALIBRATION_EXPTIME_S[kind]
    if kind in LAMP_LINE_KINDS:
        # Binned pixels collect binx·biny times the charge: arcs are shortened to stay below saturation.
        exptime /= setting.binx * setting.biny
    for number in range(1, count + 1):
        clock += timedelta(seconds=3.0)
        planned.append(
            PlannedExposure(
                exposure=Exposure(
                    kind=kind,
                    setting=setting,
                    start=_milliseconds(clock),
                    exptime_s=exptime,
                    object_name=_calibration_object(kind),
                    obs_id=obs_id,
                    slit_width_arcsec=ARC_SLIT_ARCSEC[setting.arm] if kind is FrameKind.WAVE else 1.0,
                    template_start=template_start,
                    template_exposure_number=number,
                    template_exposures=count,
                )
            )
        )
        clock += timedelta(seconds=exptime + OVERHEAD_S)
    return clock + timedelta(seconds=60.0)


def _science(plan: NightPlan, start: datetime, rng: np.random.Generator) -> list[PlannedExposure]:
    planned: list[PlannedExposure] = []
    candidates = [STARS[i] for i in rng.permutation(len(STARS))]
    clock = start
    for number in range(1, plan.targets + 1):
        clock += timedelta(seconds=TARGET_ACQUISITION_S)
        # Like a night astronomer: any star not yet observed that is well up now, else the highest.
        well_up = [candidate for candidate in candidates if airmass(candidate, clock) <= MAX_AIRMASS]
        star = well_up[0] if well_up else min(candidates, key=lambda candidate: airmass(candidate, clock))
        candidates.remove(star)
        template_start = clock.replace(microsecond=0)
        for index, setting in enumerate(plan.settings, start=1):
            clock += timedelta(seconds=float(rng.uniform(1.0, 4.0)))
            planned.append(
                PlannedExposure(
                    star=star,
                    exposure=Exposure(
                        kind=FrameKind.SCIENCE,
                        setting=setting,
                        start=_milliseconds(clock),
                        exptime_s=plan.science_exptime_s,
                        object_name=star.name,
                        ra_deg=star.ra_deg,
                        dec_deg=star.dec_deg,
                        programme="112.25QX.001",
                        obs_id=3_400_000 + number,
                        template_start=template_start,
                        template_exposure_number=index,
                        template_exposures=len(plan.settings),
                        airmass=airmass(star, clock),
                        seeing_arcsec=round(float(rng.uniform(0.6, 1.1)), 2),
                    ),
                )
            )
            clock += timedelta(seconds=plan.science_exptime_s + OVERHEAD_S)
    return planned


def airmass(star: Star, when: datetime) -> float:
    """Plane-parallel airmass of a star seen from Paranal, capped where it would be below 20°."""
    days = (when - datetime(2000, 1, 1, 12)).total_seconds() / 86400.0
    lst_deg = (280.46061837 + 360.98564736629 * days + PARANAL_LONGITUDE_DEG) % 360.0
    hour_angle = math.radians(lst_deg - star.ra_deg)
    lat, dec = math.radians(PARANAL_LATITUDE_DEG), math.radians(star.dec_deg)
    sin_alt = math.sin(lat) * math.sin(dec) + math.cos(lat) * math.cos(dec) * math.cos(hour_angle)
    return round(1.0 / max(sin_alt, math.sin(math.radians(20.0))), 3)


def _calibration_object(kind: FrameKind) -> str:
    return {
        FrameKind.BIAS: "BIAS",
        FrameKind.FORMAT_CHECK: "LAMP,FMTCHK",
        FrameKind.ORDER_DEFINITION: "LAMP,ORDERDEF",
        FrameKind.FLAT: "LAMP,FLAT",
        FrameKind.WAVE: "LAMP,WAVE",
    }[kind]


def _milliseconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=(moment.microsecond // 1000) * 1000)
