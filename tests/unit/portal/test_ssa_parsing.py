"""SSA queryData parameters (pure)."""

from __future__ import annotations

import pytest

from services.portal.ssa import DEFAULT_MAXREC, MAX_MAXREC, SsaError, parse_band, parse_query, parse_time


def test_pos_and_size_make_a_cone_of_half_the_diameter() -> None:
    query = parse_query({"request": "queryData", "pos": "359.9,-89.5;ICRS", "size": "0.2"})
    assert query.cone is not None
    assert (query.cone.ra, query.cone.dec, query.cone.radius_deg) == (359.9, -89.5, 0.1)
    assert query.maxrec == DEFAULT_MAXREC and query.formats_match and not query.metadata_only


def test_band_in_metres_becomes_nanometres() -> None:
    assert parse_band("4e-7/5e-7") == pytest.approx((400.0, 500.0))
    assert parse_band("6.5e-7") == pytest.approx((650.0, 650.0))
    assert parse_band("/5e-7") == (None, pytest.approx(500.0))


def test_time_accepts_iso_and_mjd() -> None:
    start, end = parse_time("2024-03-01T00:00:00/2024-03-02")
    assert start == pytest.approx(60370.0) and end == pytest.approx(60371.0)
    assert parse_time("60370.5/") == (60370.5, None)
    assert parse_time("60370.5") == (60370.5, 60370.5)


def test_format_metadata_and_unknown_formats() -> None:
    assert parse_query({"REQUEST": "queryData", "FORMAT": "METADATA"}).metadata_only
    assert not parse_query({"REQUEST": "queryData", "FORMAT": "image/png"}).formats_match
    assert parse_query({"REQUEST": "queryData", "FORMAT": "application/fits"}).formats_match


@pytest.mark.parametrize("parameters", [
    {"REQUEST": "queryData", "MAXREC": str(MAX_MAXREC + 1)},
    {"REQUEST": "queryData", "MAXREC": "1e3"},
    {"REQUEST": "queryData", "SIZE": "1"},
    {"REQUEST": "queryData", "POS": "10,0", "SIZE": "nan"},
    {"REQUEST": "queryData", "POS": "inf,0"},
    {"REQUEST": "queryData", "BAND": "0/2"},
    {"REQUEST": "queryData", "TIME": "2024-03-02/2024-03-01"},
    {"REQUEST": "queryData", "TARGETNAME": "x" * 1000},
    {"REQUEST": "getCapabilities"},
])
def test_bad_parameters(parameters: dict[str, str]) -> None:
    with pytest.raises(SsaError):
        parse_query(parameters)
