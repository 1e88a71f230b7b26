"""A small progress window the worker can show: a progress bar, one status line per clip, and Cancel.

The worker runs in its own process (LipAlign's Python, which has PySide6), so this window never
touches Resolve's UI. The analysis runs on the worker's main thread; :meth:`ProgressWindow.progress`
is its :data:`core.progress.ProgressFn` and lets Qt handle events each time it is called, which is
when a Cancel click is noticed: the run stops with :class:`Cancelled` before the next clip, and
what was done so far stays on the duplicate timeline with its audit markers (revert undoes it).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QApplication, QLabel, QListWidget, QProgressBar, QPushButton, QVBoxLayout, QWidget

MEASURING = "measuring "  # the stage prefix align_timeline reports for each clip


class Cancelled(Exception):
    """The editor pressed Cancel; the clips done before it keep their changes (and markers)."""


class ProgressWindow(QWidget):
    """Progress of one LipAlign run: overall bar, current stage, per-clip list, Cancel (Close when done)."""

    def __init__(self, title: str = "LipAlign: Auto-align lips") -> None:
        super().__init__()
        self.setWindowTitle(title)
        self.cancel_requested = False
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.stage = QLabel("starting")
        self.clips = QListWidget()
        self.button = QPushButton("Cancel")
        self.button.clicked.connect(self._on_button)
        layout = QVBoxLayout(self)
        for widget in (self.stage, self.bar, self.clips, self.button):
            layout.addWidget(widget)
        self.resize(480, 320)
        self._done = False

    def progress(self, fraction: float, stage: str) -> None:
        """Show ``fraction`` (0-1) done at ``stage``; raises :class:`Cancelled` once Cancel was pressed."""
        QApplication.processEvents()
        if self.cancel_requested:
            raise Cancelled("cancelled by the editor; the clips done so far keep their changes (revert undoes them)")
        self.bar.setValue(round(min(max(fraction, 0.0), 1.0) * 1000))
        self.stage.setText(stage)
        if stage.startswith(MEASURING):
            self.clips.addItem(f"{stage[len(MEASURING):]}: measuring")
        QApplication.processEvents()

    def show_summary(self, summary: dict[str, Any]) -> None:
        """Replace the list with each clip's outcome and the skipped items; Cancel becomes Close."""
        self.clips.clear()
        for clip in summary.get("clips", []):
            outcome = clip["action"] if clip["action"] != "none" else "unchanged"
            self.clips.addItem(f"{clip['clip']}: {outcome}" + (f" ({clip['reason']})" if clip["reason"] else ""))
        for item in summary.get("skipped", []):
            self.clips.addItem(f"{item['name']} ({item['track']}): skipped ({item['reason']})")
        self.bar.setValue(1000)
        self.stage.setText("done")
        self._done = True
        self.button.setText("Close")

    def _on_button(self) -> None:
        if self._done:
            self.close()
        else:
            self.cancel_requested = True
            self.button.setEnabled(False)
            self.stage.setText("cancelling after the current clip")
