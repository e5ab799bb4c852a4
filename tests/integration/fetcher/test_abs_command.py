"""`phoenix abs` on a simulated night in an archive folder (served in-process), text and JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from services.fetcher import cli

from .conftest import LINE_REFER_TABLE, NIGHT, TRUNCATED


def _abs(*arguments: str) -> int:
    parser = argparse.ArgumentParser(prog="phoenix")
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["abs", *arguments])
    return args.run(args)


def test_the_dfos_report_of_a_night(archive_root: Path, classifier, capsys: pytest.CaptureFixture[str]) -> None:
    assert _abs("UVES_ECHELLE", NIGHT.isoformat(), "--archive", str(archive_root), "--mode", "MCALIB") == 0

    out = capsys.readouterr().out
    assert out.count("AB_ID ") == 5
    assert "RAW_TYPE          FLAT_BLUE\nRECIPE            uves_cal_mflat" in out
    assert f"OK MCALIB REAL {LINE_REFER_TABLE}.fits LINE_REFER_TABLE 0.000 0" in out
    assert "PENDING MCALIB VIRTUAL UVES_ECHELLE.2024-03-01.BIAS_BLUE." in out
    assert f"SKIPPED {TRUNCATED} UNCLASSIFIED: unreadable:" in out


def test_the_json_list_of_a_complete_request(archive_root: Path, classifier, capsys: pytest.CaptureFixture[str]) -> None:
    assert _abs("UVES_ECHELLE", NIGHT.isoformat(), "--archive", str(archive_root), "--mode", "COMPLETE", "--json") == 0

    blocks = json.loads(capsys.readouterr().out)
    assert [b["raw_type"] for b in blocks] == ["BIAS_BLUE", "ARC_LAMP_FORM_BLUE", "ORDER_FLAT_BLUE", "FLAT_BLUE",
                                               "ARC_LAMP_BLUE", "SCI_POINT_BLUE"]
    science = blocks[-1]
    assert science["completeness"] == "COMPLETE" and len(science["depends_on"]) == 4
    assert science["raw_files"][0]["category"] == "SCI_POINT_BLUE"
    flat = next(c for c in science["calibrations"] if c["pro_catg"] == "MASTER_FLAT_BLUE")
    assert flat["evaluation"] == "PENDING" and flat["level"] == 0 and -1 < flat["delta_days"] < 0


def test_a_night_without_a_rule_set_is_reported(archive_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _abs("UVES_ECHELLE", "2003-01-01", "--archive", str(archive_root)) == 1
    assert "no UVES_ECHELLE association rule set is valid on 2003-01-01" in capsys.readouterr().err
