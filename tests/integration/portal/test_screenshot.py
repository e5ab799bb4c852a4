"""The night page in headless Chromium (Debian `chromium`): it renders, and is not blank."""

from __future__ import annotations

import asyncio
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from shared.serving import serve_in_background
from tests.integration.portal.seed import MODE, NIGHT, seed_night

WINDOW = (1280, 900)


def chromium() -> str:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("Debian chromium is not installed: `apt-get install -y chromium` (make setup does it)",
                    pytrace=False)
    return executable


async def screenshot(url: str, target: Path, profile: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", f"--screenshot={target}", f"--window-size={WINDOW[0]},{WINDOW[1]}", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode(errors="replace")[-2000:]


async def test_night_page_screenshot(app, db, tmp_path: Path) -> None:
    await seed_night(db)
    target = tmp_path / "night.png"
    async with serve_in_background(app) as base_url:
        await screenshot(f"{base_url}/history/{MODE}/{NIGHT}", target, tmp_path / "chromium-profile")
    assert target.is_file() and 10_000 < target.stat().st_size < 5_000_000
    pixels = imread(io.BytesIO(target.read_bytes()), format="png")[..., :3]
    assert pixels.shape[:2] == (WINDOW[1], WINDOW[0])
    assert float(np.std(pixels)) > 0.05, "the page is blank"
    header = pixels[:40, :, :].mean(axis=(0, 1))
    assert header.max() < 0.3, "the dark header bar was drawn (the style sheet loaded)"
    colours = {tuple(np.round(p, 1)) for p in pixels[::7, ::7].reshape(-1, 3)}
    assert len(colours) > 20, "badges and text, not a flat page"
