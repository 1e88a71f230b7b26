"""The LipAlign panel: choose the settings, measure, review each clip and why, apply the ticked ones, revert.

Measure and Apply are the two halves of :func:`plugin.timeline.align_timeline`
(:func:`~plugin.timeline.measure_timeline` then :func:`~plugin.timeline.apply_measurement` over the same
measurement, so nothing is measured twice); Revert is :func:`plugin.timeline.revert_timeline`. All three run
on a :class:`~plugin.panel.jobs.Job` thread; the window stays responsive and Cancel stops a Measure within
about a second, keeping the clips measured so far.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.fileio import write_text_output
from core.progress import ProgressFn
from core.settings import Setting, SettingsError, save_user_settings
from core.tolerance import PRESETS
from core.version import VERSION
from plugin.audit import LEGEND
from plugin.panel.jobs import Job
from plugin.panel.plot import OffsetPlot
from plugin.panel.settings import editor_changes, remember_scope, remembered_scope
from plugin.panel.table import CLIP_COLOURS, COLUMNS, ReviewModel, VerdictFilter
from plugin.revert import open_project
from plugin.review import ClipReview, Moment, review_rows, rows_to_csv, with_outcomes
from plugin.run_settings import RunSettings
from plugin.timeline import TimelineMeasurement, apply_measurement, measure_timeline, revert_timeline

__all__ = ["PanelWindow"]

SCOPE_LABELS = {"timeline": "Whole timeline", "selection": "Timeline selection", "in-out": "In/Out range"}
STRATEGY_LABELS = {"auto": "Auto (slip, speed or render)", "slip": "Slip only", "conform": "Render corrected audio",
                   "speed": "Speed change"}
TOLERANCE_LABELS = {"broadcast": "Broadcast (one frame)", "ebu-r37": "EBU R37 (-40/+60 ms)",
                    "itu-bt1359": "ITU-R BT.1359 (-45/+125 ms)", "custom": "Custom"}
VERDICT_FILTERS = (("All verdicts", set()), ("Out of sync", {"offset", "drift"}), ("In sync", {"in_sync"}),
                   ("Inconclusive", {"inconclusive", "not measured"}), ("Skipped", {"skipped"}))


class PanelWindow(QMainWindow):
    """The panel on one Resolve (live, bridged or fake).

    Parameters
    ----------
    resolve : the Resolve scripting object.
    store : Qt's settings store, where the editor's last scope is remembered.
    settings : the effective settings (:func:`core.settings.load_settings`, the command line's options on top);
        the keys the studio locks are shown greyed out, and what the editor changes is saved to the user file.
    scope : the scope to open with (None: the one the editor chose last time).
    log_path : the run's log file, for Open log (None: the button is off).
    analyze : measures one file (tests measure against a reference; default the lip analysis).
    summary_path : where each apply's or revert's summary JSON is written as well.
    user_path : the user settings file to save to (default :func:`core.locations.user_config_path`).

    Signals: ``measured(TimelineMeasurement)``, ``applied(summary)``, ``reverted(summary)`` and ``stopped(message)``
    (a job that failed or was cancelled) tell the launcher, and the tests, when each job ends.
    """

    measured = Signal(object)
    applied = Signal(dict)
    reverted = Signal(dict)
    stopped = Signal(str)

    def __init__(self, resolve: Any, store: QSettings, settings: Mapping[str, Setting], *, scope: str | None = None,
                 log_path: str | None = None, analyze: Callable[[str], Any] | None = None,
                 summary_path: str | None = None, user_path: Path | None = None) -> None:
        super().__init__()
        self.resolve, self.store, self.configured, self.user_path = resolve, store, settings, user_path
        self.log_path, self.analyze, self.summary_path = log_path, analyze, summary_path
        self.measurement: TimelineMeasurement | None = None
        self.summary: dict[str, Any] | None = None
        self.job: Job | None = None
        self.closing = False  # once closing, no job starts (a stop signal closes the window mid-run)
        self.confirm: Callable[[str, str], bool] = self._ask
        self.setWindowTitle(f"LipAlign {VERSION}: Auto-align lips")
        self._build()
        self._show_settings(RunSettings.from_settings(scope or remembered_scope(store), settings))
        self._show_locks()
        self._speed_where_offered()
        self.shown = self.settings()  # what the editor changes from here is theirs to remember
        self._set_busy(None)
        self.resize(1600, 860)

    # -- building -----------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.scope = _combo(SCOPE_LABELS)
        self.strategy = _combo(STRATEGY_LABELS)
        self.tolerance = _combo(TOLERANCE_LABELS)
        self.early_ms, self.late_ms = _spin(0, 1000, 0, " ms early"), _spin(0, 1000, 0, " ms late")
        self.search_ms = _spin(100, 5000, 0, " ms")
        self.search_ms.setSingleStep(100)
        self.min_confidence = _spin(0, 100, 0, " %")
        self.min_confidence.setToolTip("clips measured with less confidence are left unticked for you to check")
        self.tolerance.currentIndexChanged.connect(self._custom_tolerance_shown)
        limits = QHBoxLayout()
        for widget in (self.tolerance, self.early_ms, self.late_ms):
            limits.addWidget(widget)
        grid = QGridLayout()
        for row, column, text, field in ((0, 0, "&Scope", self.scope), (0, 2, "S&trategy", self.strategy),
                                         (1, 0, "Tolera&nce", limits), (1, 2, "Searc&h range ±", self.search_ms),
                                         (2, 0, "Leave clips &under", self.min_confidence)):
            label = QLabel(text)
            grid.addWidget(label, row, column)
            if isinstance(field, QWidget):
                label.setBuddy(field)
                grid.addWidget(field, row, column + 1)
            else:
                label.setBuddy(self.tolerance)
                grid.addLayout(field, row, column + 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        settings = QGroupBox("Settings")
        settings.setLayout(grid)
        self.settings_box = settings

        self.measure_button = _button("&Measure", "Ctrl+M", "measure every clip in the scope; nothing changes yet")
        self.cancel_button = _button("Cancel", "Esc", "stop measuring; the clips measured so far are kept")
        self.apply_button = _button("&Apply ticked", "Ctrl+Return",
                                    "change the ticked clips on a LipAlign duplicate of the timeline")
        self.revert_button = _button("&Revert LipAlign changes", "Ctrl+Shift+R",
                                     "undo every LipAlign change on the current timeline")
        self.export_button = _button("&Export report…", "Ctrl+E", "save the review as CSV or JSON")
        self.log_button = _button("Open &log", "Ctrl+L", "open this run's log file")
        self.measure_button.clicked.connect(self.measure)
        self.cancel_button.clicked.connect(self.cancel)
        self.apply_button.clicked.connect(self.apply)
        self.revert_button.clicked.connect(self.revert)
        self.export_button.clicked.connect(self._export_dialog)
        self.log_button.clicked.connect(self.open_log)
        actions = QVBoxLayout()
        for button in (self.measure_button, self.cancel_button, self.apply_button, self.revert_button,
                       self.export_button, self.log_button):
            actions.addWidget(button)
        actions.addStretch(1)

        top = QHBoxLayout()
        top.addWidget(settings, 1)
        top.addLayout(actions)

        self.stage = QLabel("Choose the settings, then Measure.")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.message = QLabel("")
        self.message.setWordWrap(True)

        self.model = ReviewModel(self)
        self.proxy = VerdictFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)  # clip names can be long
        header.setStretchLastSection(True)
        header.resizeSection(1, 190)
        header.setSectionResizeMode(len(COLUMNS) - 1, QHeaderView.ResizeMode.Interactive)  # the reason: a tooltip too
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setWordWrap(False)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._show_selected())
        self.filter = QComboBox()
        for label, _ in VERDICT_FILTERS:
            self.filter.addItem(label)
        self.filter.currentIndexChanged.connect(lambda i: self.proxy.show_verdicts(VERDICT_FILTERS[i][1]))
        self.counts = QLabel("")
        filter_row = QHBoxLayout()
        filter_row.addWidget(QLabel("Show"))
        filter_row.addWidget(self.filter)
        filter_row.addWidget(self.counts, 1)

        self.plot = OffsetPlot()
        self.reason = QLabel("")
        self.reason.setWordWrap(True)
        self.moments = QListWidget()
        self.moments.setToolTip("double-click (or Enter) to move Resolve's playhead there and check the lips")
        self.moments.itemActivated.connect(self._go_to_item)
        details = QVBoxLayout()
        details.addWidget(self.plot, 3)
        details.addWidget(self.reason)
        details.addWidget(QLabel("Clearest moments to check by eye"))
        details.addWidget(self.moments, 1)
        right = QWidget()
        right.setLayout(details)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(filter_row)
        left_layout.addWidget(self.table)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setSizes([1160, 420])

        legend = QLabel("On the timeline: " + "   ".join(
            f'<span style="color:{CLIP_COLOURS[o.clip_color]}">■</span> {o.clip_color}: {name.replace("_", " ")}'
            for name, o in LEGEND.items()))
        legend.setToolTip("\n".join(f"{o.clip_color} clip, {o.marker_color} marker: {o.meaning}"
                                    for o in LEGEND.values()))
        body = QVBoxLayout()
        body.addLayout(top)
        body.addWidget(self.stage)
        body.addWidget(self.bar)
        body.addWidget(self.message)
        body.addWidget(split, 1)
        body.addWidget(legend)
        central = QWidget()
        central.setLayout(body)
        self.setCentralWidget(central)
        QShortcut(QKeySequence("Ctrl+W"), self, activated=self.close)

    # -- settings -----------------------------------------------------------------------------------------

    def _show_settings(self, settings: RunSettings) -> None:
        _choose(self.scope, settings.scope)
        _choose(self.strategy, settings.strategy)
        preset = settings.tolerance if settings.tolerance in PRESETS else "custom"
        _choose(self.tolerance, preset)
        early, late = settings.tolerance_limits.limits_ms(25.0)
        self.early_ms.setValue(early)
        self.late_ms.setValue(late)
        self.search_ms.setValue(settings.search_ms)
        self.min_confidence.setValue(round(settings.min_confidence * 100))
        self._custom_tolerance_shown()

    def settings(self) -> RunSettings:
        """What the controls say; a key the studio locks keeps the studio's exact value (a control may round it)."""
        preset = self.tolerance.currentData()
        tolerance = preset if preset != "custom" else f"custom:{self.early_ms.value():g}:{self.late_ms.value():g}"
        chosen = {"strategy": self.strategy.currentData(), "tolerance": tolerance,
                  "search_ms": float(self.search_ms.value()), "min_confidence": self.min_confidence.value() / 100.0}
        return replace(RunSettings.from_settings(self.scope.currentData(), self.configured),
                       **{key: value for key, value in chosen.items() if not self.configured[key].locked})

    def _show_locks(self) -> None:
        """Grey out the controls of the keys the studio locks, saying where they are set."""
        controls = {"strategy": (self.strategy,), "tolerance": (self.tolerance, self.early_ms, self.late_ms),
                    "search_ms": (self.search_ms,), "min_confidence": (self.min_confidence,)}
        for key, widgets in controls.items():
            setting = self.configured[key]
            if not setting.locked:
                continue
            for widget in widgets:
                widget.setEnabled(False)  # stays off when the settings box is re-enabled after a job
                widget.setToolTip(f"set by the studio configuration ({setting.path})")

    def _remember(self, settings: RunSettings) -> str | None:
        """Save what the editor changed since it was last saved or shown; why it could not be, if it could not."""
        remember_scope(self.store, settings.scope)
        changes = editor_changes(self.shown, settings, self.configured)
        if changes:
            try:
                save_user_settings(changes, user_path=self.user_path)
            except SettingsError as exc:
                return f"your settings were not saved: {exc}"
        self.shown = settings
        return None

    def _custom_tolerance_shown(self) -> None:
        custom = self.tolerance.currentData() == "custom"
        self.early_ms.setVisible(custom)
        self.late_ms.setVisible(custom)

    def _speed_where_offered(self) -> None:
        """Grey out what this Resolve cannot do (a speed change needs the speed property, 21.1)."""
        try:
            caps = open_project(self.resolve).caps
        except Exception as exc:  # no project or timeline yet: Measure will say so
            self._say(str(exc), error=True)
            return
        index = self.strategy.findData("speed")
        item = self.strategy.model().item(index)
        if not caps.speed_property:
            item.setEnabled(False)
            item.setToolTip(f"Resolve {caps.version_text} cannot set an audio clip's speed by script (21.1 can)")
            if self.strategy.currentData() == "speed" and not self.configured["strategy"].locked:
                _choose(self.strategy, "auto")

    # -- the three jobs -----------------------------------------------------------------------------------

    def measure(self) -> None:
        """Measure every clip of the scope with the current settings; change nothing."""
        if self._busy():
            return
        settings = self.settings()
        unsaved = self._remember(settings)
        self.measurement, self.summary = None, None
        self.model.set_rows([])
        self.plot.show_row(None)
        self.moments.clear()

        def work(progress: ProgressFn) -> TimelineMeasurement:
            return measure_timeline(self.resolve, scope=settings.scope, strategy=settings.strategy,
                                    tolerance=settings.tolerance, analyze=self.analyze, search_ms=settings.search_ms,
                                    min_confidence=settings.min_confidence, progress=progress)

        self._start(work, self._measured, "measuring")
        if unsaved:  # the measure runs all the same: not remembering is no reason to stop the editor
            self._say(unsaved, error=True)

    def cancel(self) -> None:
        if self.job is not None and self.job.running() and self.cancel_button.isEnabled():
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.stage.setText("cancelling: the clips measured so far are kept")

    def apply(self) -> None:
        """Change the ticked clips on the LipAlign duplicate of the timeline (made if needed)."""
        if self._busy():
            return
        if self.measurement is None or self.summary is not None:
            return self._refuse("measure first: Apply works on a fresh measurement of the timeline")
        ticked = self.model.ticked_keys()
        if not ticked:
            return self._refuse("nothing is ticked: tick the clips to change")
        measurement, render_to = self.measurement, self.configured["render_folder"].value

        def work(progress: ProgressFn) -> dict[str, Any]:
            return apply_measurement(measurement, ticked=ticked, render_to=render_to, progress=progress)

        self._start(work, self._applied, "applying")

    def revert(self) -> None:
        """Undo every LipAlign change on the current timeline (after asking)."""
        if self._busy():
            return
        try:
            name = open_project(self.resolve).info.name
        except Exception as exc:
            return self._refuse(str(exc))
        if not self.confirm("Revert LipAlign changes",
                            f"Undo every LipAlign change on the timeline “{name}”?"):
            return
        self._start(lambda progress: revert_timeline(self.resolve), self._reverted, "reverting")

    def _start(self, work: Callable[[ProgressFn], Any], done: Callable[[Any], None], what: str) -> None:
        if self.closing:
            return
        job = Job(work, self)
        job.progressed.connect(self._progressed)
        job.succeeded.connect(done)
        job.failed.connect(self._failed)
        self.job = job
        self.bar.setValue(0)
        self._say("")
        self.stage.setText(what)
        self._set_busy(what)
        job.start()

    # -- what the jobs report -----------------------------------------------------------------------------

    def _progressed(self, fraction: float, stage: str) -> None:
        self.bar.setValue(round(min(max(fraction, 0.0), 1.0) * 1000))
        if self.cancel_button.isEnabled() or self.job is None or not self.job.cancelled:
            self.stage.setText(stage)

    def _measured(self, measurement: TimelineMeasurement) -> None:
        self.measurement = measurement
        rows = review_rows(measurement)
        self.model.set_rows(rows)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self._set_busy(None)
        measured = len(measurement.clips)
        done = "measured" if measurement.complete else "cancelled after measuring"
        self.stage.setText(f"{done} {measured} of {len(measurement.reading.clips)} clips on “"
                           f"{measurement.original.name}”: review the ticks, then Apply")
        self.bar.setValue(1000 if measurement.complete else self.bar.value())
        self._say(" ".join(measurement.reading.notes))
        self._count()
        if rows:
            self.table.selectRow(0)
            self.table.setFocus()
        self.measured.emit(measurement)

    def _applied(self, summary: dict[str, Any]) -> None:
        self.summary = summary
        selected = self.selected_row()
        self.model.set_rows(with_outcomes(self.model.rows, summary), locked=True)
        self._select(selected.key if selected else None)
        self._set_busy(None)
        changed = sum(1 for c in summary["clips"] if c["action"] not in ("none",))
        where = summary["timeline"]["name"]
        self.stage.setText(f"applied: {changed} clip(s) changed on “{where}”; the timeline's markers and clip "
                           "colours carry the same outcome (legend marker at its start)" if changed else
                           "applied: nothing needed changing; no duplicate timeline was made")
        self._say(" ".join(summary["notes"]))
        self._write_summary(summary)
        self._count()
        self._show_selected()
        self.applied.emit(summary)

    def _reverted(self, summary: dict[str, Any]) -> None:
        self.summary = None
        restored, failed = len(summary["reverted"]), summary["failed"]
        self.stage.setText(f"reverted {restored} LipAlign change(s) on “{summary['timeline']['name']}”")
        self._say("; ".join(f"{f['clip']}: not reverted, {f['reason']}" for f in failed), error=bool(failed))
        if self.measurement is not None:
            self.model.set_rows(review_rows(self.measurement))
            self.measurement = None  # its timeline changed: measure again before the next apply
        self._write_summary(summary)
        self._set_busy(None)
        self.reverted.emit(summary)

    def _failed(self, message: str) -> None:
        self._set_busy(None)
        self.stage.setText("stopped")
        self._say(message, error=message != "cancelled")
        self.stopped.emit(message)

    # -- details of the selected row ----------------------------------------------------------------------

    def _select(self, key: str | None) -> None:
        keys = [r.key for r in self.model.rows]
        if key in keys:
            self.table.selectRow(self.proxy.mapFromSource(self.model.index(keys.index(key), 0)).row())

    def selected_row(self) -> ClipReview | None:
        index = self.table.currentIndex()
        if not index.isValid():
            return None
        return self.model.rows[self.proxy.mapToSource(index).row()]

    def _show_selected(self) -> None:
        row = self.selected_row()
        self.plot.show_row(row)
        self.moments.clear()
        if row is None:
            self.reason.setText("")
            return
        self.reason.setText(f"<b>{row.clip}</b>: {row.reason}")
        for moment in row.moments:
            where = moment.timecode or "not on the timeline"
            item = QListWidgetItem(f"{where}   {moment.media_s:7.2f} s   {moment.offset_ms:+.0f} ms   {moment.event}")
            item.setData(Qt.ItemDataRole.UserRole, moment)
            if not moment.timecode:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            self.moments.addItem(item)

    def _go_to_item(self, item: QListWidgetItem) -> None:
        self.go_to(item.data(Qt.ItemDataRole.UserRole))

    def go_to(self, moment: Moment) -> None:
        """Move Resolve's playhead to ``moment`` on the current timeline."""
        if not moment.timecode:
            return
        try:
            timeline = self.resolve.GetProjectManager().GetCurrentProject().GetCurrentTimeline()
            moved = bool(timeline.SetCurrentTimecode(moment.timecode))
        except Exception as exc:
            self._say(f"could not move the playhead: {exc}", error=True)
            return
        self._say(f"playhead at {moment.timecode}: check the lips there" if moved else
                  f"Resolve refused to move the playhead to {moment.timecode}", error=not moved)

    # -- export and log -----------------------------------------------------------------------------------

    def _export_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export LipAlign report", "lipalign-report.csv",
                                              "CSV (*.csv);;JSON (*.json)")
        if path:
            self.export_to(path)

    def export_to(self, path: str) -> None:
        """Write the review (after an apply, with what was done) as CSV, or as JSON with the run's summary."""
        rows = self.model.rows
        if Path(path).suffix.lower() == ".json":
            text = json.dumps({"schema": "lipalign.review/1", "rows": [_plain(r) for r in rows],
                               "summary": self.summary}, indent=2, sort_keys=True) + "\n"
        else:
            text = rows_to_csv(rows)
        try:
            write_text_output(path, text)
        except (OSError, ValueError) as exc:
            self._say(f"could not export: {exc}", error=True)
            return
        self._say(f"report written to {path}")

    def open_log(self) -> None:
        if self.log_path:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.log_path))

    def _write_summary(self, summary: dict[str, Any]) -> None:
        if self.summary_path:
            write_text_output(self.summary_path, json.dumps(summary, indent=2, sort_keys=True) + "\n")

    # -- state --------------------------------------------------------------------------------------------

    def _busy(self) -> bool:
        return self.job is not None and self.job.running()

    def _set_busy(self, what: str | None) -> None:
        busy = what is not None
        self.settings_box.setEnabled(not busy)
        self.measure_button.setEnabled(not busy)
        self.cancel_button.setEnabled(what == "measuring")
        self.apply_button.setEnabled(not busy and self.measurement is not None and self.summary is None
                                     and any(r.tickable for r in self.model.rows))
        self.revert_button.setEnabled(not busy)
        self.export_button.setEnabled(not busy and bool(self.model.rows))
        self.log_button.setEnabled(bool(self.log_path))

    def _count(self) -> None:
        rows = self.model.rows
        ticked = sum(r.ticked for r in rows)
        by = {v: sum(r.verdict in s for r in rows) for v, s in (("out", {"offset", "drift"}), ("in", {"in_sync"}))}
        self.counts.setText(f"{len(rows)} items: {by['out']} out of sync, {by['in']} in sync, {ticked} ticked")

    def _refuse(self, message: str) -> None:
        """A button that cannot do its work now: say why (a job that never started still ends with ``stopped``)."""
        self._say(message, error=True)
        self.stopped.emit(message)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.message.setStyleSheet("color: #ff7b6b;" if error else "color: #bbbbbb;")
        self.message.setText(text)

    def _ask(self, title: str, question: str) -> bool:
        answer = QMessageBox.question(self, title, question)
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, event: Any) -> None:
        """A Measure in flight is cancelled; an Apply or Revert is waited for (an edit is never cut in two)."""
        self.closing = True
        if self.job is not None and self.job.running():
            measuring = self.cancel_button.isEnabled()
            self.job.cancel()
            self.job.wait(2.0 if measuring else 600.0)
        super().closeEvent(event)


def _plain(row: ClipReview) -> dict[str, Any]:
    return asdict(replace(row, windows=tuple(tuple(round(v, 3) for v in w) for w in row.windows)))


def _combo(labels: dict[str, str]) -> QComboBox:
    combo = QComboBox()
    for value, label in labels.items():
        combo.addItem(label, value)
    return combo


def _choose(combo: QComboBox, value: str) -> None:
    index = combo.findData(value)
    combo.setCurrentIndex(max(index, 0))


def _spin(low: float, high: float, decimals: int, suffix: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setDecimals(decimals)
    spin.setSuffix(suffix)
    return spin


def _button(text: str, shortcut: str, tip: str) -> QPushButton:
    button = QPushButton(text)
    button.setShortcut(QKeySequence(shortcut))
    button.setToolTip(f"{tip} ({shortcut})")
    return button

