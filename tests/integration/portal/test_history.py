"""The processing-history website: every page renders from ledger, QC1, review and catalogue rows."""

from __future__ import annotations

import io
from datetime import timedelta

import numpy as np
from matplotlib.image import imread

from tests.integration.portal.seed import MODE, NIGHT, RELEASE, Spectrum, add_release, add_spectrum, seed_night

SCIENCE_AB = f"{MODE}.{NIGHT}.SCI_POINT_BLUE.0001"


async def test_the_nights_page_has_one_line_per_night(client, db) -> None:
    await seed_night(db)
    await seed_night(db, NIGHT + timedelta(days=1))
    page = await client.get("/history/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert page.text.count(f'/history/{MODE}/{NIGHT}"') == 1
    assert f"/history/{MODE}/{NIGHT + timedelta(days=1)}" in page.text
    assert "BIAS_BLUE 1" in page.text and "SCI_POINT_BLUE 1" in page.text
    assert (await client.get(f"/history/{MODE}")).status_code == 200


async def test_the_night_page_lists_abs_with_states_and_scores(client, db) -> None:
    ab_ids = await seed_night(db)
    page = await client.get(f"/history/{MODE}/{NIGHT}")
    assert page.status_code == 200
    for ab_id in ab_ids:
        assert f"/history/ab/{ab_id}" in page.text
    for state in ("INGESTED", "FAILED", "REVIEW", "INCOMPLETE"):
        assert f">{state}</span>" in page.text
    assert "no lines found" in page.text
    assert 'class="dot r"' in page.text


async def test_the_ab_cover_sheet(client, db, archive_store) -> None:
    await seed_night(db)
    await add_release(db)
    await add_spectrum(db, archive_store, Spectrum("PHX.2026-11-24T18:00:00.000.1", 10.0, -20.0, ab_id=SCIENCE_AB))
    page = await client.get(f"/history/ab/{SCIENCE_AB}")
    assert page.status_code == 200
    text = page.text
    assert "RAW_MATCH_KEY" in text and "DET.WIN1.BINX=1" in text
    assert "UVES_MBIAS_BLUE_2024-03-01_1x1.fits" in text and "+0.412" in text and "-9.800" in text
    assert "Δt 3.4 d is farther" in text, "the losing candidate"
    for state in ("STAGED", "PROCESSED", "SCORED", "CERTIFIED", "INGESTED"):
        assert f">{state}</span>" in text
    assert "QC.PARAM2" in text and "outlier" in text and "0.5–5.0" in text
    assert "/api/products/PHX.2026-11-24T18:00:00.000.1/files/preview.png" in text
    assert "v1 current" in text


async def test_reviews_and_releases(client, db) -> None:
    await seed_night(db)
    await add_release(db)
    reviews = await client.get("/history/reviews")
    assert reviews.status_code == 200 and f"{MODE}.{NIGHT}.FLAT_BLUE.0001" in reviews.text
    assert "1 QC parameter scored red" in reviews.text
    release = await client.get(f"/history/releases/{RELEASE}")
    assert release.status_code == 200
    assert "<h1>UVES echelle IDPs, 2024.1</h1>" in release.text and "<strong>uves 6.1.8</strong>" in release.text
    assert "<script>alert" not in release.text, "raw HTML in a description is escaped"
    assert RELEASE in (await client.get("/history/releases/")).text


async def test_qc_trend_plot_is_a_png(client, db) -> None:
    for offset in range(5):
        await seed_night(db, NIGHT + timedelta(days=offset), ron_base=2.0 + 0.3 * offset)
    response = await client.get(f"/history/qc/{MODE}/QC.PARAM0")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    image = imread(io.BytesIO(response.content), format="png")
    assert image.shape[1] > 600 and np.std(image) > 0.01
    unmeasured = await client.get(f"/history/qc/{MODE}/QC.OUT1.RON.MASTER")
    assert unmeasured.status_code == 404, "a parameter with thresholds but no value in the archive draws nothing"
    assert "QC.PARAM0" in (await client.get(f"/history/qc/{MODE}")).text


async def test_qc_trends_are_drawn_once_per_state_of_the_data(client, db, app) -> None:
    """A second view, any query parameter, an unknown parameter or RAW_TYPE: nothing is drawn again;
    a new night's QC makes the plots current."""
    await seed_night(db, NIGHT)
    trends = app.state.portal.trends
    trends.recheck_seconds = 0
    first = await client.get(f"/history/qc/{MODE}/QC.PARAM0")
    assert first.status_code == 200 and trends.drawn == 1
    for params in ({}, {"night_from": "2024-01-01"}, {"night_to": "2030-01-01", "nocache": "1"}, {"x": "y"}):
        again = await client.get(f"/history/qc/{MODE}/QC.PARAM0", params=params)
        assert again.content == first.content
    assert (await client.get(f"/history/qc/{MODE}/QC.NO.SUCH")).status_code == 404
    assert (await client.get(f"/history/qc/{MODE}/QC.PARAM0", params={"raw_type": "NOPE"})).status_code == 404
    assert trends.drawn == 1
    await seed_night(db, NIGHT + timedelta(days=1))
    assert (await client.get(f"/history/qc/{MODE}/QC.PARAM0")).status_code == 200 and trends.drawn == 2


async def test_qc_trends_page_lists_parameters_per_raw_type(client, db) -> None:
    await seed_night(db, NIGHT)
    page = await client.get(f"/history/qc/{MODE}", headers={"accept": "text/html"})
    assert page.status_code == 200 and "QC.PARAM0" in page.text and "<img" not in page.text
    assert "raw_type=BIAS_BLUE" in page.text and "raw_type=FLAT_BLUE" in page.text
    plots = await client.get(f"/history/qc/{MODE}", params={"raw_type": "BIAS_BLUE"})
    assert plots.status_code == 200 and "<img" in plots.text
    assert (await client.get(f"/history/qc/{MODE}", params={"raw_type": "NOPE"})).status_code == 404
