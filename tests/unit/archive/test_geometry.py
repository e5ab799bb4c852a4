"""Cone-search geometry: distances, and boxes that never lose a source, at the poles and across RA 0/360."""

from __future__ import annotations

import math
import random

import pytest

from shared.archive.geometry import Cone, angular_distance_deg, cone_box, normalised_ra, ra_intervals, unit_vector


def inside_box(ra: float, dec: float, cone: Cone) -> bool:
    box = cone_box(cone)
    if not box.dec_min <= dec <= box.dec_max:
        return False
    return not box.ra_ranges or any(low <= ra <= high for low, high in box.ra_ranges)


def dot(ra: float, dec: float, cone: Cone) -> float:
    return sum(a * b for a, b in zip(unit_vector(ra, dec), unit_vector(cone.ra, cone.dec)))


@pytest.mark.parametrize(
    ("ra1", "dec1", "ra2", "dec2", "expected"),
    [
        (0, 0, 90, 0, 90),
        (0, 0, 0, 90, 90),
        (0, 0, 180, 0, 180),
        (359.5, 0, 0.5, 0, 1),
        (0, 89, 180, 89, 2),
        (10, -90, 250, -90, 0),
        (0, 0, 0, 1 / 3600, 1 / 3600),
    ],
)
def test_angular_distance(ra1: float, dec1: float, ra2: float, dec2: float, expected: float) -> None:
    assert angular_distance_deg(ra1, dec1, ra2, dec2) == pytest.approx(expected, abs=1e-12)


def test_unit_vectors_have_unit_length() -> None:
    for ra, dec in [(0, 0), (123.4, -56.7), (359.99, 89.99)]:
        assert math.fsum(c * c for c in unit_vector(ra, dec)) == pytest.approx(1.0)


def test_normalised_ra() -> None:
    assert [normalised_ra(ra) for ra in (0.0, 360.0, -1.0, 721.5, -1e-20)] == [0.0, 0.0, 359.0, 1.5, 0.0]


def test_a_cone_containing_a_pole_spans_every_ra() -> None:
    north = cone_box(Cone(10.0, 88.5, 3.0))
    south = cone_box(Cone(10.0, -89.0, 1.0))
    assert north.ra_ranges == () and north.dec_max == 90.0 and north.dec_min == pytest.approx(85.5)
    assert south.ra_ranges == () and south.dec_min == -90.0


def test_a_cone_across_ra_zero_has_two_intervals() -> None:
    assert len(cone_box(Cone(0.5, 0.0, 1.0)).ra_ranges) == 2
    assert len(cone_box(Cone(359.5, 0.0, 1.0)).ra_ranges) == 2
    assert len(cone_box(Cone(180.0, 0.0, 1.0)).ra_ranges) == 1


def test_ra_intervals() -> None:
    assert ra_intervals(10.0, 5.0) == ((5.0, 15.0),)
    assert ra_intervals(2.0, 5.0) == ((0.0, 7.0), (357.0, 360.0))
    assert ra_intervals(358.0, 5.0) == ((0.0, 3.0), (353.0, 360.0))


def test_the_box_widens_in_ra_towards_the_poles() -> None:
    (equator,) = cone_box(Cone(180.0, 0.0, 1.0)).ra_ranges
    (high,) = cone_box(Cone(180.0, 80.0, 1.0)).ra_ranges
    assert equator[1] - equator[0] == pytest.approx(2.0)
    assert high[1] - high[0] == pytest.approx(2 * math.degrees(math.asin(math.sin(math.radians(1)) / math.cos(math.radians(80)))))


@pytest.mark.parametrize("seed", range(5))
def test_every_source_in_a_cone_is_in_its_box_and_passes_the_dot_test(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(200):
        cone = Cone(rng.uniform(0, 360), rng.choice([rng.uniform(-90, 90), rng.uniform(80, 90), rng.uniform(-90, -80)]),
                    rng.choice([rng.uniform(0.001, 1), rng.uniform(1, 30)]))
        for _ in range(50):
            ra, dec = random_point_near(rng, cone)
            distance = angular_distance_deg(cone.ra, cone.dec, ra, dec)
            if abs(distance - cone.radius_deg) < 1e-9:
                continue
            inside = distance < cone.radius_deg
            assert (dot(ra, dec, cone) >= cone_box(cone).min_dot) == inside, (cone, ra, dec)
            if inside:
                assert inside_box(ra, dec, cone), (cone, ra, dec)


def random_point_near(rng: random.Random, cone: Cone) -> tuple[float, float]:
    dec = max(-90.0, min(90.0, cone.dec + rng.uniform(-1.5, 1.5) * cone.radius_deg))
    spread = 180.0 if abs(dec) > 60 else 3 * cone.radius_deg / max(math.cos(math.radians(dec)), 1e-3)
    return normalised_ra(cone.ra + rng.uniform(-spread, spread)), dec


@pytest.mark.parametrize(("ra", "dec", "radius"), [(0, 91, 1), (0, 0, 0), (0, 0, 181), (math.inf, 0, 1)])
def test_invalid_cones(ra: float, dec: float, radius: float) -> None:
    with pytest.raises(ValueError):
        Cone(ra, dec, radius)
