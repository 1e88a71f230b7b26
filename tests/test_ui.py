"""The worker's progress window, driven by real align_timeline runs on the Resolve fake (offscreen Qt)."""

from __future__ import annotations

import pytest
from kit.fake_resolve import FakeResolve, place_clip
from PySide6.QtCore import Qt

from plugin.timeline import align_timeline
from plugin.ui import Cancelled, ProgressWindow

CLIP = "real/lipnet__lbax4n.mpg"


def project_with(corpus) -> FakeResolve:
    resolve = FakeResolve("19.0.2")
    resolve.GetProjectManager().GetCurrentProject().GetMediaPool().CreateEmptyTimeline("Interview")
    place_clip(resolve, str(corpus / CLIP), 0)
    return resolve


def test_a_run_shows_each_clip_then_its_outcome_and_closes(qtbot, corpus):
    window = ProgressWindow()
    qtbot.addWidget(window)
    window.show()
    seen: list[tuple[int, str]] = []

    def progress(fraction: float, stage: str) -> None:
        window.progress(fraction, stage)
        seen.append((window.bar.value(), window.clips.item(window.clips.count() - 1).text()
                     if window.clips.count() else ""))

    summary = align_timeline(project_with(corpus), apply=False, progress=progress)

    assert seen[0] == (0, "lipnet__lbax4n.mpg: measuring") and seen[-1][0] == 1000
    window.show_summary(summary)
    (clip,) = summary["clips"]
    assert window.clips.count() == 1 and window.clips.item(0).text().startswith("lipnet__lbax4n.mpg: ")
    assert clip["action"] == "none" and "unchanged" in window.clips.item(0).text()
    assert window.button.text() == "Close" and window.stage.text() == "done"
    qtbot.mouseClick(window.button, Qt.MouseButton.LeftButton)
    assert not window.isVisible()


def test_cancel_stops_the_run_before_the_next_clip_and_changes_nothing(qtbot, corpus):
    resolve = project_with(corpus)
    original = resolve.GetProjectManager().GetCurrentProject().GetCurrentTimeline()
    before = original.snapshot(ids=False)
    window = ProgressWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.mouseClick(window.button, Qt.MouseButton.LeftButton)
    assert window.cancel_requested and not window.button.isEnabled()

    with pytest.raises(Cancelled, match="cancelled by the editor"):
        align_timeline(resolve, progress=window.progress)

    # The run stopped before measuring anything: the duplicate holds the original's clips unchanged.
    duplicate = resolve.GetProjectManager().GetCurrentProject().GetCurrentTimeline()
    after = duplicate.snapshot(ids=False)
    assert after["tracks"] == before["tracks"] and not after["markers"]
    assert original.snapshot(ids=False) == before
