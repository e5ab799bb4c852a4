from services.qc.report import tally
from shared.contracts import QcScore


def score(value: int | None, informational: bool = False) -> QcScore:
    return QcScore(product="p.fits", parameter="QC.X", value=1.0, score=value, informational=informational)


def test_the_report_counts_every_parameter_once_informational_apart_from_unscored():
    scores = [score(0), score(0), score(1), score(None, informational=True), score(None)]
    assert tally(scores) == "OK 2 · outlier 1 · informational 1 · unscored 1"


def test_the_report_shows_the_previews_the_orders_and_the_table(tmp_path):
    from PIL import Image

    from services.qc.report import LAYOUT, write_report
    from tests.unit.qc.test_service import ab

    Image.new("RGB", (1200, 400), "navy").save(tmp_path / "preview.png")
    scores = [QcScore(product="p.fits", parameter=f"QC.ORD{n}.OBJ.SN", value=float(n), score=0) for n in range(1, 30)]
    bare = write_report(tmp_path / "bare.qc.png", ab(), [score(0)])
    full = write_report(tmp_path / "full.qc.png", ab(), scores, [tmp_path / "preview.png"])

    with Image.open(bare) as without, Image.open(full) as with_panels:
        assert without.width == with_panels.width == LAYOUT.width
        # the preview scaled to the report's width, then the S/N per order panel, then a longer table
        assert with_panels.height > without.height + LAYOUT.width // 3 + LAYOUT.panel
        assert with_panels.getpixel((LAYOUT.width // 2, LAYOUT.title + 10)) == (0, 0, 128)
