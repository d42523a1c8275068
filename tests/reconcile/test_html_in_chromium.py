"""The HTML report renders in a real browser: headless Chromium takes a screenshot and the chart is in it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from support.png_pixels import longest_vertical_run, read_png
from support.reconcile_world import World
from test_reconcile_odoo import plant

from punchbridge.reconcile.report import STATUS_COLOURS

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def screenshot(page: Path, folder: Path) -> bytes:
    """A 1200x900 screenshot of `page` by headless Chromium (skipped where Chromium is not installed)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run installs it)")
    picture = folder / "report.png"
    subprocess.run(
        [
            chromium, *CHROMIUM_FLAGS, f"--user-data-dir={folder / 'profile'}", f"--screenshot={picture}",
            "--window-size=1200,900", page.resolve().as_uri(),
        ],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    return picture.read_bytes()


def test_the_report_renders_in_chromium_with_the_chart_bars_in_their_colours(world: World, tmp_path: Path) -> None:
    plant(world)  # one missing day, two different, one extra
    report = world.reconcile("odoo")
    assert report.html_path is not None

    image = read_png(screenshot(report.html_path, tmp_path))

    assert image.shape == (900, 1200, 3)
    colours = np.unique(image.reshape(-1, 3), axis=0)
    assert len(colours) > 20, "the screenshot is (nearly) a single colour"
    assert (image.astype(int).sum(axis=2) < 150).sum() > 500, "no dark text on the page"
    # Bars are taller than the 12-pixel swatches of the legend and the table: a run of more than
    # 30 pixels of a status colour in one column is a bar of the chart.
    for status in ("matched", "missing", "different", "extra"):
        assert longest_vertical_run(image, _rgb(STATUS_COLOURS[status])) > 30, f"no {status} bar in the chart"


def test_a_clean_report_renders_with_only_matched_bars(world: World, tmp_path: Path) -> None:
    report = world.reconcile("salesforce")
    assert report.html_path is not None

    image = read_png(screenshot(report.html_path, tmp_path))

    assert longest_vertical_run(image, _rgb(STATUS_COLOURS["matched"])) > 100
    for status in ("missing", "different", "extra"):
        assert longest_vertical_run(image, _rgb(STATUS_COLOURS[status])) <= 12  # a legend swatch at most
