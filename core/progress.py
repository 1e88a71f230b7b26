"""Progress reporting: a callback the pipeline calls, and the bar the command line draws on stderr."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["Cancelled", "ProgressBar", "no_progress", "progress_part"]

# progress(fraction_done in [0, 1], what is being done)
ProgressFn = Callable[[float, str], None]


class Cancelled(Exception):
    """Raised by a progress callback to stop the work it reports on (an editor's Cancel); what was done stays."""


def no_progress(fraction: float, stage: str) -> None:
    """A progress callback that shows nothing."""


def progress_part(progress: ProgressFn, start: float, end: float) -> ProgressFn:
    """A callback for one stage of a longer task: its [0, 1] fills ``start`` to ``end`` of ``progress``."""
    return lambda fraction, stage: progress(start + (end - start) * fraction, stage)


class ProgressBar:
    """A one-line bar on stderr that appears only once a task has run for more than a second.

    On a terminal the bar redraws in place; otherwise (a log file, a pipe) it writes a line at each
    quarter, so logs stay short.
    """

    def __init__(self, label: str, stream: TextIO | None = None, delay_s: float = 1.0) -> None:
        self.label = label
        self._stream = stream
        self.delay_s = delay_s
        self.started = time.monotonic()
        self.shown = False
        self._last_quarter = -1

    @property
    def stream(self) -> TextIO:
        # Looked up on every write: face tracking temporarily points sys.stderr past MediaPipe's logging.
        return self._stream or sys.stderr

    def __call__(self, fraction: float, stage: str) -> None:
        if time.monotonic() - self.started < self.delay_s:
            return
        fraction = min(max(fraction, 0.0), 1.0)
        if self.stream.isatty():
            filled = int(fraction * 30)
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {fraction:4.0%} {stage:<24}")
            self.shown = True
        else:
            quarter = int(fraction * 4)
            if quarter > self._last_quarter:
                self._last_quarter = quarter
                self.stream.write(f"{self.label}: {fraction:.0%} {stage}\n")
        self.stream.flush()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 80 + "\r")
            self.stream.flush()
