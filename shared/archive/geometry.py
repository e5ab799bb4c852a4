"""Cone-search geometry on the celestial sphere (pure functions, degrees in and out).

A cone search keeps the products whose stored unit vector has `x·x0 + y·y0 + z·z0 >= cos r`
(plain arithmetic, the same on PostgreSQL and SQLite, which has no trigonometry), inside a
box on (dec, ra) that the (dec, ra) index serves. The box needs care in two places: a cone that
contains a pole spans every RA, and one that crosses RA 0/360 needs two RA intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Widens the pre-filter box so that rounding never drops a source the exact test would keep.
BOX_MARGIN_DEG = 1e-9


@dataclass(frozen=True)
class Cone:
    ra: float
    dec: float
    radius_deg: float

    def __post_init__(self) -> None:
        if not -90.0 <= self.dec <= 90.0:
            raise ValueError(f"declination {self.dec} outside [-90, 90]")
        if not 0.0 < self.radius_deg <= 180.0:
            raise ValueError(f"cone radius {self.radius_deg} outside (0, 180]")
        if not math.isfinite(self.ra):
            raise ValueError(f"right ascension {self.ra} is not finite")


@dataclass(frozen=True)
class ConeBox:
    """A pre-filter box around a cone: declination limits and RA intervals in [0, 360].

    `ra_ranges` empty means every RA (the cone contains a pole or is wider than a hemisphere).
    """

    dec_min: float
    dec_max: float
    ra_ranges: tuple[tuple[float, float], ...]
    min_dot: float
    """cos(radius): a unit vector is inside the cone when its dot product with the centre is at least this."""


def normalised_ra(ra: float) -> float:
    """RA in [0, 360)."""
    wrapped = ra % 360.0
    return 0.0 if wrapped == 360.0 else wrapped


def unit_vector(ra: float, dec: float) -> tuple[float, float, float]:
    ra_rad, dec_rad = math.radians(ra), math.radians(dec)
    cos_dec = math.cos(dec_rad)
    return (cos_dec * math.cos(ra_rad), cos_dec * math.sin(ra_rad), math.sin(dec_rad))


def angular_distance_deg(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Great-circle distance (Vincenty's formula: accurate at every separation)."""
    ra1_rad, dec1_rad, ra2_rad, dec2_rad = map(math.radians, (ra1, dec1, ra2, dec2))
    delta_ra = ra2_rad - ra1_rad
    sin_d1, cos_d1 = math.sin(dec1_rad), math.cos(dec1_rad)
    sin_d2, cos_d2 = math.sin(dec2_rad), math.cos(dec2_rad)
    numerator = math.hypot(cos_d2 * math.sin(delta_ra), cos_d1 * sin_d2 - sin_d1 * cos_d2 * math.cos(delta_ra))
    denominator = sin_d1 * sin_d2 + cos_d1 * cos_d2 * math.cos(delta_ra)
    return math.degrees(math.atan2(numerator, denominator))


def cone_box(cone: Cone) -> ConeBox:
    radius = cone.radius_deg + BOX_MARGIN_DEG
    dec_min, dec_max = cone.dec - radius, cone.dec + radius
    min_dot = math.cos(math.radians(cone.radius_deg))
    if dec_min <= -90.0 or dec_max >= 90.0:
        return ConeBox(max(dec_min, -90.0), min(dec_max, 90.0), (), min_dot)
    # Widest RA offset reached by a circle of radius r around declination d (|d| + r < 90 here).
    half_width = math.degrees(math.asin(min(1.0, math.sin(math.radians(radius)) / math.cos(math.radians(cone.dec)))))
    return ConeBox(dec_min, dec_max, ra_intervals(normalised_ra(cone.ra), half_width), min_dot)


def ra_intervals(ra: float, half_width: float) -> tuple[tuple[float, float], ...]:
    """[ra − w, ra + w] as one or two intervals inside [0, 360]."""
    low, high = ra - half_width, ra + half_width
    if low < 0.0:
        return ((0.0, high), (low + 360.0, 360.0))
    if high > 360.0:
        return ((0.0, high - 360.0), (low, 360.0))
    return ((low, high),)
