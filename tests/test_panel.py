"""The LipAlign panel driven as an editor drives it (pytest-qt, offscreen) against the Resolve fake.

Edit mechanics measure shifted copies of a corpus clip against their original (to the sample, see
kit.project.ReferenceMeasure); Cancel, the plot and the sync moments run the real lip analysis.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kit.fake_resolve import place_clip
from kit.project import ReferenceMeasure, content, items_by_track, new_project, original_of, timeline_of
from PySide6.QtCore import QObject, QSettings, Qt, Signal

from core.correct import write_corrected_media
from core.model import Report, SyncResult
from core.probe import probe
from core.report import fix_from_sync
from core.settings import load_settings
from core.synth import synthesize
from plugin.panel import instance as instance_module
from plugin.panel.instance import PanelInstance
from plugin.panel.window import PanelWindow
from plugin.review import CSV_COLUMNS
from plugin.timeline import align_timeline, apply_measurement, measure_timeline

BASE = "real/videoretalking__3.mp4"  # 25 fps, 5 s close-up
LONG = "real/dfrf__cnn2_25fps.mp4"  # 25 fps news anchor, 71 s
REPO = Path(__file__).resolve().parent.parent
measure = ReferenceMeasure()


@pytest.fixture(scope="module")
def shifted(corpus, tmp_path_factory) -> dict[str, Path]:
    """Copies of BASE whose sound is 120 ms late, 50 ms late, 80 ms early and in sync."""
    folder = tmp_path_factory.mktemp("shifted")
    made = {}
    for name, late_ms in (("late120", 120.0), ("late50", 50.0), ("early80", -80.0), ("sync", 0.0)):
        made[name] = folder / f"{name}.mp4"
        write_corrected_media(corpus / BASE, made[name], offset_ms=-late_ms)
        measure.originals[str(made[name])] = corpus / BASE
    return made


@pytest.fixture(scope="module")
def talking(tmp_path_factory) -> Path:
    """A synthetic talking head whose sound is 120 ms late (the lip analysis reads it firmly, with moments)."""
    path = tmp_path_factory.mktemp("synth") / "anchor-late120.mp4"
    synthesize(path, offset_ms=120.0, duration_s=8.0, seed=11)
    return path


def panel(qtbot, resolve, tmp_path, *, analyze=measure, command_line: dict | None = None) -> PanelWindow:
    """The panel as ``python -m plugin.panel`` opens it: the settings files (this test's own, see conftest) under
    the ``command_line`` options, the scope remembered in a Qt store of the test's own."""
    store = QSettings(str(tmp_path / "panel.ini"), QSettings.Format.IniFormat)
    window = PanelWindow(resolve, store, load_settings(command_line), analyze=analyze)
    window.confirm = lambda title, question: True
    qtbot.addWidget(window)
    window.show()
    return window


def measure_now(qtbot, window: PanelWindow, timeout_ms: int = 120_000):
    with qtbot.waitSignal(window.measured, timeout=timeout_ms) as got:
        window.measure_button.click()
    return got.args[0]


def row(window: PanelWindow, clip: str):
    return next(r for r in window.model.rows if r.clip == clip)


def tick(window: PanelWindow, clip: str, ticked: bool) -> None:
    index = window.model.index(window.model.rows.index(row(window, clip)), 0)
    state = Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked
    assert window.model.setData(index, state.value, Qt.ItemDataRole.CheckStateRole)


def test_settings_change_what_is_measured_and_are_remembered(qtbot, shifted, tmp_path, own_settings_files):
    resolve = new_project("21.1")
    place_clip(resolve, str(shifted["late50"]), 0)
    place_clip(resolve, str(shifted["late120"]), 300)
    window = panel(qtbot, resolve, tmp_path)
    measure_now(qtbot, window)
    late50 = row(window, "late50.mp4")
    # 50 ms late is outside one frame (40 ms): a slip, ticked.
    assert late50.ticked and late50.planned == "slip" and late50.offset_ms == pytest.approx(50.0, abs=1.0)

    window.tolerance.setCurrentIndex(window.tolerance.findData("ebu-r37"))  # EBU R37 allows 60 ms late
    window.scope.setCurrentIndex(window.scope.findData("in-out"))
    assert timeline_of(resolve).SetMarkInOut(0, 200)  # the first clip only
    measure_now(qtbot, window)
    (only,) = window.model.rows
    assert only.clip == "late50.mp4" and not only.ticked and only.planned == "none" and "ebu-r37" in only.reason

    # The choices are remembered for the next panel: the tolerance in the user file the worker and the command line
    # read too, the scope (the timeline's, not a studio setting) in Qt's store; the custom tolerance reads its limits.
    assert json.loads((own_settings_files / "settings.json").read_text()) == {"settings": {"tolerance": "ebu-r37"}}
    again = panel(qtbot, resolve, tmp_path)
    assert (again.settings().scope, again.settings().tolerance, again.settings().strategy) == (
        "in-out", "ebu-r37", "auto")
    again.tolerance.setCurrentIndex(again.tolerance.findData("custom"))
    again.early_ms.setValue(20)
    again.late_ms.setValue(30)
    assert again.settings().tolerance == "custom:20:30"


def test_the_studios_locks_are_greyed_out_and_only_the_editors_changes_are_saved(qtbot, tmp_path,
                                                                                 own_settings_files):
    studio, user = own_settings_files / "studio.json", own_settings_files / "settings.json"
    studio.write_text(json.dumps({"settings": {"tolerance": "custom:20:30", "min_confidence": 0.355},
                                  "locked": ["tolerance", "min_confidence"]}))
    user.write_text(json.dumps({"settings": {"tolerance": "itu-bt1359", "search_ms": 2000}}))
    resolve = new_project("21.1")  # an empty timeline: Measure saves the settings, then finds nothing to measure
    window = panel(qtbot, resolve, tmp_path, command_line={"strategy": "slip"})
    for control in (window.tolerance, window.early_ms, window.late_ms, window.min_confidence):
        assert not control.isEnabled() and control.toolTip() == f"set by the studio configuration ({studio})"
    assert window.search_ms.isEnabled() and window.search_ms.value() == 2000
    assert window.strategy.currentData() == "slip"  # the command line's, for this run only
    # The locked values are the studio's to the digit, whatever the controls round them to (36 %).
    settings = window.settings()
    assert (settings.tolerance, settings.min_confidence, settings.search_ms) == ("custom:20:30", 0.355, 2000.0)

    window.search_ms.setValue(1500)
    with qtbot.waitSignals([window.measured], timeout=30_000):
        window.measure_button.click()
    # Only what the editor changed is saved; the ignored tolerance stays, the command line's strategy is not saved.
    assert json.loads(user.read_text()) == {"settings": {"tolerance": "itu-bt1359", "search_ms": 1500.0}}
    # Set back to the built-in default, the search range leaves the file and follows the studio from then on.
    window.search_ms.setValue(1000)
    with qtbot.waitSignals([window.measured], timeout=30_000):
        window.measure_button.click()
    assert json.loads(user.read_text()) == {"settings": {"tolerance": "itu-bt1359"}}
    # Re-enabled after the job, the settings box leaves the locked controls greyed out.
    assert window.settings_box.isEnabled() and not window.tolerance.isEnabled()


def test_unticked_rows_are_not_changed_and_apply_then_revert_restores_exactly(qtbot, shifted, tmp_path):
    resolve = new_project("21.1")
    for at, name in ((0, "late120"), (300, "early80"), (600, "sync")):
        place_clip(resolve, str(shifted[name]), at)
    original = content(timeline_of(resolve))
    window = panel(qtbot, resolve, tmp_path)
    measure_now(qtbot, window)
    assert {r.clip for r in window.model.rows if r.ticked} == {"late120.mp4", "early80.mp4"}
    assert not row(window, "sync.mp4").ticked and not row(window, "sync.mp4").tickable
    tick(window, "early80.mp4", False)

    with qtbot.waitSignal(window.applied, timeout=60_000) as got:
        window.apply_button.click()
    summary = got.args[0]
    duplicate = timeline_of(resolve)
    assert content(original_of(resolve)) == original  # the original is never edited
    done = {c["clip"]: c for c in summary["clips"]}
    assert done["late120.mp4"]["action"] == "slip" and done["early80.mp4"]["action"] == "none"
    assert "unticked in the review" in done["early80.mp4"]["reason"] and done["early80.mp4"]["outcome"] == "left"
    after = items_by_track(content(duplicate))
    def early80(by_track: dict) -> list:
        return [{**i, "color": None} for items in by_track.values() for i in items if i["name"] == "early80.mp4"]

    assert early80(after) == early80(items_by_track(original))
    # The table now says what was done, and can no longer be ticked.
    assert row(window, "late120.mp4").action == "slip" and row(window, "late120.mp4").outcome == "changed"
    assert not window.apply_button.isEnabled()

    with qtbot.waitSignal(window.reverted, timeout=60_000) as got:
        window.revert_button.click()
    assert got.args[0]["failed"] == [] and content(duplicate) == original


def test_cancel_stops_within_a_second_and_keeps_what_was_measured(qtbot, corpus, talking, tmp_path):
    resolve = new_project("21.1")
    place_clip(resolve, str(talking), 0)
    place_clip(resolve, str(corpus / LONG), 300)
    window = panel(qtbot, resolve, tmp_path, analyze=None)
    stages: list[str] = []
    window.measure_button.click()
    window.job.progressed.connect(lambda fraction, stage: stages.append(stage))
    # Mid-window: the 71 s file is read in windows, and cancelling must not wait for the window to end.
    qtbot.waitUntil(lambda: any("dfrf__cnn2_25fps.mp4: window" in s and s.endswith("tracking lips") for s in stages),
                    timeout=120_000)
    started = time.monotonic()
    with qtbot.waitSignal(window.measured, timeout=5_000) as got:
        window.cancel_button.click()
    stopped_after_s = time.monotonic() - started
    print(f"Cancel answered in {stopped_after_s:.3f} s")
    assert stopped_after_s < 1.0, stopped_after_s
    measured = got.args[0]
    assert not measured.complete and [c.clip.name for c in measured.clips] == [talking.name]
    verdicts = {r.clip: r.verdict for r in window.model.rows}
    assert verdicts == {talking.name: "offset", "dfrf__cnn2_25fps.mp4": "not measured"}
    assert "cancelled after measuring 1 of 2 clips" in window.message.text()

    # The kept clip shows why: window estimates around +120 ms, the fitted line, and moments to check by eye.
    window.table.selectRow(0)
    shown = window.selected_row()
    assert shown.clip == talking.name and window.plot.points is not None and window.plot.lines
    assert all(abs(offset - 120.0) < 40.0 for _, offset, _ in shown.windows)
    assert window.moments.count() == len(shown.moments) > 0
    item = window.moments.item(0)
    rect = window.moments.visualItemRect(item)
    # A double-click is a press and release, then a second press: Qt activates the item pressed.
    qtbot.mouseClick(window.moments.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(window.moments.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert timeline_of(resolve).GetCurrentTimecode() == shown.moments[0].timecode
    assert shown.moments[0].timecode.startswith("01:00:0")


def test_export_writes_the_review_as_csv_and_json(qtbot, shifted, tmp_path):
    resolve = new_project("21.1")
    place_clip(resolve, str(shifted["late120"]), 0)
    window = panel(qtbot, resolve, tmp_path)
    measure_now(qtbot, window)
    window.export_to(str(tmp_path / "review.csv"))
    window.export_to(str(tmp_path / "review.json"))
    with open(tmp_path / "review.csv", newline="") as handle:
        (line,) = list(csv.DictReader(handle))
    assert tuple(line) == CSV_COLUMNS and line["clip"] == "late120.mp4" and line["ticked"] == "yes"
    assert float(line["offset_ms"]) == pytest.approx(120.0, abs=1.0) and line["timecode_in"] == "01:00:00:00"
    review = json.loads((tmp_path / "review.json").read_text())
    assert review["schema"] == "lipalign.review/1" and review["rows"][0]["planned"] == "slip"


def test_the_review_sorts_by_value_and_filters_by_verdict(qtbot, shifted, tmp_path):
    resolve = new_project("21.1")
    for at, name in ((0, "late120"), (300, "early80"), (600, "late50")):
        place_clip(resolve, str(shifted[name]), at)
    window = panel(qtbot, resolve, tmp_path)
    measure_now(qtbot, window)

    def shown() -> list[str]:
        return [window.proxy.index(r, 1).data() for r in range(window.proxy.rowCount())]

    window.table.sortByColumn(5, Qt.SortOrder.DescendingOrder)  # offset, by its value (not its text)
    assert shown() == ["late120.mp4", "late50.mp4", "early80.mp4"]
    window.filter.setCurrentIndex(2)  # in sync: none of these
    assert shown() == []
    window.filter.setCurrentIndex(1)  # out of sync
    assert len(shown()) == 3


def _report(path: str, sync: SyncResult) -> Report:
    return Report(path, probe(path), sync, [], fix_from_sync(sync, 25.0))


def test_a_ticked_withheld_reading_is_applied_and_low_confidence_is_left_for_the_editor(shifted):
    withheld = SyncResult("inconclusive", 120.0, 3.0, 0.0, 0.62, reason="not sure enough")
    unsure = SyncResult("offset", -80.0, -2.0, 0.0, 0.7)
    readings = {str(shifted["late120"]): withheld, str(shifted["early80"]): unsure}

    def analyze(path: str) -> Report:
        return _report(path, readings[path])

    resolve = new_project("21.1")
    place_clip(resolve, str(shifted["late120"]), 0)
    place_clip(resolve, str(shifted["early80"]), 300)
    # Headless, with a confidence floor: neither is changed, and the summary says why.
    summary = align_timeline(resolve, analyze=analyze, min_confidence=0.8)
    reasons = {c["clip"]: (c["action"], c["reason"]) for c in summary["clips"]}
    assert reasons["early80.mp4"][0] == "none" and "70% confidence, under the 80%" in reasons["early80.mp4"][1]
    assert reasons["late120.mp4"][0] == "none" and "inconclusive" in reasons["late120.mp4"][1]

    measured = measure_timeline(resolve, analyze=analyze, min_confidence=0.8)
    by_name = {c.clip.name: c for c in measured.clips}
    assert measured.default_ticks() == set() and all(c.tickable for c in by_name.values())
    summary = apply_measurement(measured, ticked={by_name["late120.mp4"].key})
    done = {c["clip"]: c for c in summary["clips"]}
    assert done["late120.mp4"]["action"] == "slip" and done["late120.mp4"]["measurement"]["slip_frames"] == 3
    assert "accepted the withheld best reading (+120 ms" in done["late120.mp4"]["reason"]
    assert done["early80.mp4"]["action"] == "none"


def test_a_second_panel_brings_the_open_one_forward(qtbot, monkeypatch):
    raised = []
    monkeypatch.setattr(instance_module, "bring_forward", raised.append)
    name = f"lipalign-test-{time.monotonic_ns()}"
    first, second = PanelInstance(name), PanelInstance(name)
    first.window = object()
    try:
        assert first.claim()
        assert not second.claim()
        qtbot.waitUntil(lambda: raised == [first.window], timeout=3_000)
    finally:
        first.release()
        second.release()


def test_emitting_a_signal_leaves_true_its_references(qapp):
    # The panel emits a signal for every second of video tracked. PySide6 6.12.0's emit returned True without
    # a reference of its own, so each emit took one from True, and a panel that had measured long enough died
    # with "bool_dealloc" (the demo did, once nothing else held many references to True).
    class Probe(QObject):
        progressed = Signal(float, str)

    probe = Probe()
    probe.progressed.connect(lambda fraction, stage: None)
    before = sys.getrefcount(True)
    for _ in range(1000):
        probe.progressed.emit(0.5, "tracking lips")
    assert sys.getrefcount(True) >= before - 10


def test_the_demo_opens_measures_applies_and_saves_a_screenshot(tmp_path):
    shot = tmp_path / "after-apply.png"
    proc = subprocess.run([sys.executable, "-m", "plugin.panel", "--demo", "--run", "measure,apply",
                           "--screenshot", str(shot)], cwd=REPO, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert shot.stat().st_size > 20_000 and f"screenshot: {shot}" in proc.stdout
