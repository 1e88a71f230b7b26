"""The QC HTML report: built from real analyses, self-contained, and checked in a real headless Chromium."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from core.analyze import analyze_file
from core.errors import MediaError
from core.face import _EYE_OUTER, _OUTER_CORNERS, PATCH_H, PATCH_W, FaceTrack
from core.qc.html import render_html, timecode
from core.qc.model import QcBatch, QcItem
from core.qc.thumbnail import face_thumbnail, mouth_patch_corners
from core.synth import synthesize

CHROMIUM = "/usr/bin/chromium"
# Short corpus clips (3 s and 5 s) with one face each.
CLIPS = ("real/lipnet__lbax4n.mpg", "real/videoretalking__3.mp4")
# Characters that break HTML when not escaped, in a real file name that goes through the whole pipeline.
ODD_NAME = "synth <late> & 'quoted' \"120 ms\".mp4"


@pytest.fixture(scope="module")
def batch(corpus, tmp_path_factory) -> QcBatch:
    """Two corpus clips and a synthetic one analysed for real, one unreadable file and one that is not media."""
    folder = tmp_path_factory.mktemp("qc")
    synthetic = folder / ODD_NAME
    synthesize(synthetic, offset_ms=120.0, duration_s=6.0, seed=3)
    items = []
    for path in [*(str(corpus / c) for c in CLIPS), str(synthetic)]:
        analysis = analyze_file(path)
        report = analysis.report.to_dict()
        items.append(QcItem(path, "analysed", report=report, analysis_s=1.0,
                            thumbnail_jpeg_b64=face_thumbnail(path, analysis.face, report)))
    broken = folder / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    with pytest.raises(MediaError) as failure:
        analyze_file(broken)
    items.append(QcItem(str(broken), "failed", reason=str(failure.value)))
    items.append(QcItem(str(folder / "notes.txt"), "skipped", reason="not media: a text file"))
    return QcBatch(items, {"tolerance": "broadcast", "search_ms": 1000.0, "project_rate": 48000},
                   ("offset", "drift", "unreadable"), "0.0-test", "2025-06-01T10:00:00+00:00", 12.5, "local:2")


@pytest.fixture(scope="module")
def page_html(batch) -> str:
    return render_html(batch)


def analysed(batch: QcBatch) -> list[QcItem]:
    return [i for i in batch.items if i.report is not None]


def test_the_page_loads_nothing_from_outside(page_html):
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page_html, re.I)
    assert not re.search(r"url\(\s*['\"]?\s*(?:https?:)?//|@import", page_html, re.I)
    assert "<link" not in page_html and "<script src" not in page_html
    assert "Content-Security-Policy" in page_html


def test_every_file_has_a_row_and_a_section(batch, page_html):
    for item in batch.items:
        assert page_html.count(f'data-file="{html.escape(item.path)}"') == 2  # its row and its section
    assert page_html.count("<svg") == len(analysed(batch)) == 3
    assert html.escape(batch.items[-2].reason) in page_html  # why the broken file failed
    assert "not media: a text file" in page_html


def test_paths_are_escaped(page_html):
    assert "<late>" not in page_html and "'quoted' \"120" not in page_html
    assert html.escape(ODD_NAME) in page_html


def test_faces_have_thumbnails(batch, page_html):
    for item in analysed(batch):
        assert item.thumbnail_jpeg_b64, item.path  # every clip here shows one face
        assert f'src="data:image/jpeg;base64,{item.thumbnail_jpeg_b64}"' in page_html
    assert page_html.count("data:image/jpeg;base64,") == 3


def test_the_synthetic_offset_is_red_and_fails_the_gate(batch):
    synthetic = next(i for i in batch.items if i.path.endswith(ODD_NAME))
    assert synthetic.verdict == "offset" and synthetic.grade == "red"
    assert abs(synthetic.report["sync"]["offset_ms"] - 120.0) < 40.0
    assert synthetic in batch.failing()


def test_timecodes_count_frames_from_zero():
    assert timecode(0.0, 25.0) == "00:00:00:00"
    assert timecode(1.971, 25.0) == "00:00:01:24"
    assert timecode(0.04, 25.0) == "00:00:00:01"  # the frame on screen: it starts there
    assert timecode(3725.5, 25.0) == "01:02:05:12"
    assert timecode(1.0, 30000 / 1001) == "00:00:00:29"  # 29.97 fps: 30 labels a second, no frames dropped


def test_the_mouth_patch_spans_one_eye_distance_level_with_the_corners():
    points = np.zeros((468, 2))
    points[_EYE_OUTER[0]], points[_EYE_OUTER[1]] = (100, 100), (200, 100)
    points[_OUTER_CORNERS[0]], points[_OUTER_CORNERS[1]] = (120, 200), (180, 200)
    points[13], points[14] = (150, 195), (150, 205)
    corners = mouth_patch_corners(points)
    assert np.allclose(corners.mean(axis=0), (150, 200))
    assert np.allclose(corners, [(100, 175), (200, 175), (200, 225), (100, 225)])  # 100 px by 100 * 16/32
    assert PATCH_H / PATCH_W == 0.5
    turned = points @ np.array([[0, 1], [-1, 0]])  # the whole face turned a quarter: the patch turns with it
    assert np.allclose(mouth_patch_corners(turned), corners @ np.array([[0, 1], [-1, 0]]))


def test_no_thumbnail_without_media(tmp_path):
    face = FaceTrack(np.zeros(1), np.ones(1, np.int16), np.zeros((1, 2), np.float32),
                     np.array([[0.2, 0.2, 0.8, 0.8]], np.float32), np.ones(1, np.float32), np.zeros(1, np.float32),
                     640, 480)
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    assert face_thumbnail(str(text), face, {"sync": {"moments": [{"time_s": 0.5}]}}) == ""
    assert face_thumbnail(str(tmp_path / "missing.mp4"), face, {}) == ""


def chromium() -> str:
    """Debian's Chromium, installed when missing and this test may (root with apt), else the test is skipped."""
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(f"{CHROMIUM} is missing and cannot be installed here (needs root and apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "chromium"]
    done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:  # a fresh machine may have no package lists yet
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, timeout=600)
        done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0 or not os.path.exists(CHROMIUM):
        pytest.skip(f"could not install chromium: {done.stderr.strip()[-300:]}")
    return CHROMIUM


def test_the_page_in_a_real_browser(batch, page_html, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in installer/requirements-dev.lock")
    executable = chromium()
    page_file = tmp_path / "qc.html"
    page_file.write_text(page_html, encoding="utf-8")
    errors: list[str] = []
    fetched: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable,
                                             args=["--no-sandbox"] if os.geteuid() == 0 else [])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda request: fetched.append(request.url)
                    if not request.url.startswith(("data:", "about:", "file:")) else None)
            page.goto(page_file.as_uri(), wait_until="load")
            shot = tmp_path / "qc.png"
            page.screenshot(path=str(shot), full_page=True)
            rows = page.eval_on_selector_all("#qc-table tbody tr", "rows => rows.map(r => r.dataset.file)")
            plots = page.eval_on_selector_all("section.file", "ss => ss.map(s => [s.dataset.file, "
                                                              "s.querySelectorAll('svg').length])")
            header = page.locator("#qc-table thead th", has_text="Offset (ms)")
            header.click()
            ascending = offsets_shown(page)
            header.click()
            descending = offsets_shown(page)
        finally:
            browser.close()
    assert shot.exists() and shot.stat().st_size > 10_000
    assert errors == []
    assert fetched == []
    assert sorted(rows) == sorted(i.path for i in batch.items)
    assert dict(plots) == {i.path: (1 if i.report is not None else 0) for i in batch.items}
    measured = sorted(i.report["sync"]["offset_ms"] for i in analysed(batch))
    assert ascending == [*measured, None, None]  # by value, not as text; files without an offset last
    assert descending == [*reversed(measured), None, None]


def offsets_shown(page: object) -> list[float | None]:
    """The offset column's values in the table's current row order."""
    keys = page.eval_on_selector_all("#qc-table tbody tr", "rows => rows.map(r => r.cells[2].dataset.sort)")
    return [float(k) if k else None for k in keys]
