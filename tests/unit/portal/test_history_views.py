"""Night lines, badges, the association log and the trend plot (pure)."""

from __future__ import annotations

import io
from collections import Counter
from datetime import date

import numpy as np
from matplotlib.dates import date2num
from matplotlib.figure import Figure
from matplotlib.image import imread

from services.portal.history import (
    QcSummary,
    ScoreSummary,
    association_lines,
    dfos_fields,
    night_line,
    score_key,
    state_tone,
)
from services.portal.thresholds import bands_for
from services.portal.trend import date_axis, trend_png
from shared.archive.ledger import NightSummary
from shared.archive.models import AbState, Qc1Value


def test_night_line_sorts_states_into_columns() -> None:
    summary = NightSummary(date(2024, 3, 1), 4, 2, {AbState.INGESTED: 2, AbState.CERTIFIED: 1, AbState.FAILED: 1,
                                                    AbState.REVIEW: 1, AbState.STAGED: 1})
    scores = Counter({0: 5, 1: 1, None: 2, score_key(None, True): 7})
    line = night_line(summary, 1, Counter({"BIAS_BLUE": 3, "SCI_POINT_BLUE": 3}), scores)
    assert (line.done, line.failed, line.review, line.incomplete, line.in_progress) == (3, 1, 1, 0, 1)
    assert line.scores == ScoreSummary(green=5, red=1, grey=2, info=7) and line.total == 6
    assert line.scores.total == 15
    assert line.raw_types == [("BIAS_BLUE", 3), ("SCI_POINT_BLUE", 3)]


def test_an_abs_qc_values_fold_informational_apart_from_unscored() -> None:
    def value(parameter: str, score: int | None, informational: bool = False) -> Qc1Value:
        return Qc1Value(parameter=parameter, score=score, informational=informational)

    summary = QcSummary.of([value("QC.ORD1.OBJ.SN", None, True), value("QC.NEW", None), value("SDP.SNR.MEDIAN", 0),
                            value("QC.VRAD.BARYCOR", 1)])
    assert [v.parameter for v in summary.scored] == ["QC.VRAD.BARYCOR", "SDP.SNR.MEDIAN"]
    assert [v.parameter for v in summary.informational] == ["QC.ORD1.OBJ.SN"]
    assert [v.parameter for v in summary.unscored] == ["QC.NEW"]
    assert summary.counts == ScoreSummary(green=1, red=1, grey=1, info=1)


def test_state_tones() -> None:
    assert [state_tone(s) for s in ("INGESTED", "FAILED", "REVIEW", "STAGED", "SOMETHING_NEW")] == [
        "ok", "bad", "warn", "busy", "busy"]


def test_association_log_and_dfos_fields_from_the_stored_ab() -> None:
    ab = {"instrument": "UVES", "night": "2024-03-01", "raw_type": "BIAS_BLUE", "obs_id": None,
          "raw_match_key": {"B": "2", "A": "1"},
          "calibrations": [{"evaluation": "OK", "role": "MCALIB", "file": "mb.fits", "pro_catg": "MASTER_BIAS_BLUE",
                            "delta_days": -0.5, "level": 1, "considered": ["old.fits: farther"]}]}
    [line] = association_lines(ab)
    assert (line.evaluation, line.delta_days, line.level, line.considered) == ("OK", -0.5, 1, ["old.fits: farther"])
    assert ("RAW_MATCH_KEY", "A=1 B=2") in dfos_fields(ab)
    assert all(label != "OBS_ID" for label, _ in dfos_fields(ab))


def test_threshold_bands_come_from_the_instrument_data() -> None:
    bands = bands_for("UVES_ECHELLE", "QC.OUT1.RON.MASTER")
    assert any(b.low == 0.2 and b.high == 4.0 for b in bands)
    assert bands_for("NO_SUCH_MODE", "QC.X") == []


def test_trend_plot_draws_points_and_bands() -> None:
    values = [Qc1Value(night=date(2024, 3, d), value=1.0 + d / 10, unit="ADU", score=0 if d % 3 else 1,
                       raw_type="BIAS_BLUE", product="MASTER_BIAS_BLUE") for d in range(1, 20)]
    png = trend_png("UVES_ECHELLE · RON", values, bands_for("UVES_ECHELLE", "QC.OUT1.RON.MASTER"))
    image = imread(io.BytesIO(png), format="png")
    assert image.shape[1] == 900 and np.std(image) > 0.01
    assert trend_png("empty", [], []).startswith(b"\x89PNG")


def test_each_raw_type_gets_its_own_axis() -> None:
    bias = [Qc1Value(night=date(2024, 3, d), value=170.0 + d, unit="ADU", score=0, raw_type="BIAS_BLUE",
                     product="MASTER_BIAS_BLUE") for d in range(1, 5)]
    flat = [Qc1Value(night=date(2024, 3, d), value=21000.0 + d, unit="ADU", score=0, raw_type="FLAT_BLUE",
                     product="MASTER_FLAT_BLUE") for d in range(1, 5)]
    one = imread(io.BytesIO(trend_png("level", bias, [])), format="png")
    two = imread(io.BytesIO(trend_png("level", bias + flat, [])), format="png")
    assert two.shape[0] > 1.7 * one.shape[0], "bias and flat levels are drawn on two panels, one above the other"


def test_one_night_is_shown_as_one_night() -> None:
    """One tick labelled with the night (matplotlib's own date ticks would cut the day into hours)."""
    axes = Figure().add_subplot()
    date_axis(axes, date(2015, 2, 23), date(2015, 2, 23))
    ticks = axes.xaxis.get_major_locator()()
    assert list(ticks) == [date2num(date(2015, 2, 23))]
    assert axes.xaxis.get_major_formatter()(ticks[0], 0) == "2015-02-23"
