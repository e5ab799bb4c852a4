from services.qc.report import tally
from shared.contracts import QcScore


def score(value: int | None, informational: bool = False) -> QcScore:
    return QcScore(product="p.fits", parameter="QC.X", value=1.0, score=value, informational=informational)


def test_the_report_counts_every_parameter_once_informational_apart_from_unscored():
    scores = [score(0), score(0), score(1), score(None, informational=True), score(None)]
    assert tally(scores) == "OK 2 · outlier 1 · informational 1 · unscored 1"
