"""Slow work (measuring, applying, reverting) on a thread of its own, so the window never freezes.

A :class:`Job` runs one callable on a Python thread and reports back through Qt signals, which Qt delivers
on the window's thread. Its progress callback is where a Cancel takes effect: the analysis calls it many
times within each clip (every second of video tracked), and once Cancel is pressed it raises
:class:`core.progress.Cancelled`, which :func:`plugin.timeline.measure_timeline` turns into a partial result.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from core.errors import MediaError
from core.progress import Cancelled, ProgressFn
from plugin.bridge import BridgeError
from plugin.resolve_api import ResolveUnsupported

__all__ = ["EXPECTED_ERRORS", "Job"]

# Refusals with a message meant for the editor; anything else is a fault, shown with its type (and logged).
EXPECTED_ERRORS = (ResolveUnsupported, MediaError, ValueError, BridgeError)


class Job(QObject):
    """One piece of work off the window's thread.

    ``work`` gets a progress callback (fraction, stage). Signals: ``progressed(fraction, stage)``,
    ``succeeded(result)``, ``failed(message)``; exactly one of the last two ends every job.
    """

    progressed = Signal(float, str)
    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, work: Callable[[ProgressFn], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._work = work
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lipalign-job", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        """Stop at the next progress report (what was done is kept)."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, timeout_s: float) -> bool:
        """Wait for the work to end; whether it did within ``timeout_s``."""
        if self._thread.ident is not None:
            self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _progress(self, fraction: float, stage: str) -> None:
        if self._cancel.is_set():
            raise Cancelled("cancelled by the editor")
        self.progressed.emit(float(fraction), stage)

    def _run(self) -> None:
        try:
            result = self._work(self._progress)
        except Cancelled:
            self.failed.emit("cancelled")
        except EXPECTED_ERRORS as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # the panel shows one line; the log (stderr) keeps the traceback
            traceback.print_exc()
            self.failed.emit(f"LipAlign failed: {type(exc).__name__}: {exc} (details in the log)")
        else:
            self.succeeded.emit(result)
