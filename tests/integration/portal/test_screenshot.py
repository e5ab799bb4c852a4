"""The pages in headless Chromium (Debian `chromium`): each renders, is not blank, and its style sheet
loaded. With PHOENIX_UPDATE_SCREENSHOTS=1 the screenshots are also written (palette PNG, small) to
docs/ for the READMEs; otherwise they stay in the test's temporary folder."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.image import imread
from PIL import Image

from shared.serving import serve_in_background
from tests.integration.portal.seed import (
    MODE,
    NIGHT,
    Spectrum,
    add_release,
    add_spectrum,
    product_id,
    seed_night,
)

WINDOW = (1280, 900)
DOCS = Path(__file__).resolve().parents[3] / "docs"
UPDATE_VARIABLE = "PHOENIX_UPDATE_SCREENSHOTS"
SCIENCE_AB = f"{MODE}.{NIGHT}.SCI_POINT_BLUE.0001"


def chromium() -> str:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("Debian chromium is not installed: `apt-get install -y chromium` (make setup does it)",
                    pytrace=False)
    return executable


async def screenshot(url: str, target: Path, profile: Path, window: tuple[int, int] = WINDOW) -> None:
    process = await asyncio.create_subprocess_exec(
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
        f"--user-data-dir={profile}", f"--screenshot={target}", f"--window-size={window[0]},{window[1]}", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode(errors="replace")[-2000:]


def spectrum_preview() -> bytes:
    """A preview as a person sees one: flux against wavelength with absorption lines (synthetic)."""
    wavelength = np.linspace(373.0, 500.0, 4000)
    continuum = 1.0 + 0.25 * np.sin((wavelength - 373.0) / 40.0)
    lines = sum(depth * np.exp(-0.5 * ((wavelength - centre) / width) ** 2)
                for centre, depth, width in ((393.4, 0.8, 0.6), (396.8, 0.7, 0.6), (410.2, 0.5, 0.9),
                                             (434.0, 0.55, 0.9), (486.1, 0.6, 1.0), (438.4, 0.2, 0.2)))
    noise = np.random.default_rng(1).normal(0.0, 0.015, wavelength.size)
    figure = Figure(figsize=(12, 3.2), dpi=100, layout="constrained")
    axes = figure.add_subplot()
    axes.plot(wavelength, continuum * (1 - lines) + noise, linewidth=0.6, color="#14213d")
    axes.set_xlabel("wavelength [nm]")
    axes.set_ylabel("flux (normalised)")
    axes.set_title("HD 20794 · UVES BLUE 390 · 2024-03-01", fontsize=10, loc="left")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


async def seed_pages(db, archive_store) -> None:
    await add_release(db)
    for offset in range(6):
        await seed_night(db, NIGHT + timedelta(days=offset), ron_base=2.0 + 0.25 * (offset % 3))
    preview = spectrum_preview()
    for index, (target, ra) in enumerate((("HD 20794", 49.98), ("HD 20794", 49.98), ("HD 1234", 3.7)), start=1):
        await add_spectrum(db, archive_store, Spectrum(product_id(index), ra, -43.07, target=target,
                                                      ab_id=SCIENCE_AB, preview=preview, snr=60.0 + index))


def assert_rendered(target: Path) -> None:
    assert target.is_file() and 10_000 < target.stat().st_size < 5_000_000
    pixels = imread(io.BytesIO(target.read_bytes()), format="png")[..., :3]
    assert pixels.shape[:2] == (WINDOW[1], WINDOW[0])
    assert float(np.std(pixels)) > 0.05, "the page is blank"
    header = pixels[:40, :, :].mean(axis=(0, 1))
    assert header.max() < 0.3, "the dark header bar was drawn (the style sheet loaded)"
    colours = {tuple(np.round(p, 1)) for p in pixels[::7, ::7].reshape(-1, 3)}
    assert len(colours) > 20, "badges and text, not a flat page"


def keep_for_docs(shot: Path, name: str) -> None:
    """A 256-colour palette PNG: a tenth of the size, the same to the eye."""
    if os.environ.get(UPDATE_VARIABLE) != "1":
        return
    with Image.open(shot) as image:
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(DOCS / name, optimize=True)


PAGES = {
    "history-night.png": f"/history/{MODE}/{NIGHT}",
    "product.png": f"/products/{product_id(1)}",
    "search.png": "/search?target=hd",
    "qc-trends.png": f"/history/qc/{MODE}?raw_type=BIAS_BLUE",
}


async def test_pages_in_chromium(app, db, archive_store, tmp_path: Path) -> None:
    await seed_pages(db, archive_store)
    async with serve_in_background(app) as base_url:
        for name, path in PAGES.items():
            target = tmp_path / name
            await screenshot(f"{base_url}{path}", target, tmp_path / "chromium-profile")
            assert_rendered(target)
            keep_for_docs(target, name)
