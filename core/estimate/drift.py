"""Drift (a lag that grows over the clip) and splices (a lag that jumps), from the offsets of its windows.

A rate mismatch moves the offset at the same pace from start to end, so drift is a straight line through
the window offsets; a splice is a step that stays. Both are read only from windows that carry an offset.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from core.estimate.correlation import projected_correlation
from core.estimate.moments import LagMoments, combined_moments
from core.model import SyncWindow

__all__ = ["MIN_DRIFT_SPAN_S", "MIN_DRIFT_WINDOWS", "DriftLine", "aligning_drift", "drift_line", "find_splices",
           "fit_drift"]

# Drift needs window estimates spread over at least this span, and at least this many of them.
MIN_DRIFT_SPAN_S = 20.0
MIN_DRIFT_WINDOWS = 4
# Candidate drifts are this far apart, in ms/min.
DRIFT_STEP = 2.5


@dataclass(frozen=True)
class DriftLine:
    """A robust straight line through the window offsets: slope with its 95 % interval, and the span it covers."""

    drift_ms_per_min: float
    low_ms_per_min: float
    high_ms_per_min: float
    span_s: float


def _window_points(windows: list[SyncWindow]) -> tuple[np.ndarray, np.ndarray]:
    """Centre time (s) and offset (ms) of every window that has an offset."""
    usable = [w for w in windows if w.offset_ms is not None]
    return (np.array([(w.start_s + w.end_s) / 2 for w in usable]),
            np.array([w.offset_ms for w in usable], dtype=float))


def drift_line(windows: list[SyncWindow], fps: float) -> DriftLine | None:
    """Theil-Sen line (median of pairwise slopes) through the window offsets, outliers dropped.

    Windows further than three robust deviations (and two frames) from a first fit are dropped as
    outliers (a window locked onto a wrong peak), and the line is fitted again. None with fewer
    than ``MIN_DRIFT_WINDOWS`` usable windows.
    """
    t, y = _window_points(windows)
    if t.size < MIN_DRIFT_WINDOWS:
        return None
    fit = stats.theilslopes(y, t)
    residual = y - (fit.intercept + fit.slope * t)
    keep = np.abs(residual) <= max(3 * 1.4826 * float(np.median(np.abs(residual))), 2 * 1000.0 / fps)
    if keep.sum() < MIN_DRIFT_WINDOWS:
        return None
    fit = stats.theilslopes(y[keep], t[keep], alpha=0.95)
    return DriftLine(float(fit.slope * 60.0), float(fit.low_slope * 60.0), float(fit.high_slope * 60.0),
                     float(t[keep][-1] - t[keep][0]))


def aligning_drift(moments: LagMoments, max_drift_ms_per_min: float, blocks: np.ndarray | None = None) -> float:
    """The drift (ms/min) under which the blocks' correlation curves, summed, peak highest.

    Each candidate drift shifts every block by the lag it implies at the block's time
    (:func:`core.estimate.moments.combined_moments`); the true drift lines the blocks' peaks up. Unlike a
    line through each block's own best lag, this weighs every block by how sharply it peaks, so the
    few-millisecond wander of a block's best lag with what is said moves it less: on the corpus's looped
    clips it came within 10 ms/min of a ±60 ms/min drift where the line missed by 20.
    Searched every ``DRIFT_STEP`` ms/min, refined between steps by a parabola through the best three.
    """
    grid = np.arange(-max_drift_ms_per_min, max_drift_ms_per_min + DRIFT_STEP / 2, DRIFT_STEP)
    heights = np.array([np.nanmax(projected_correlation(*combined_moments(moments, d, blocks)), initial=-np.inf)
                        for d in grid])
    k = int(np.argmax(heights))
    if 0 < k < grid.size - 1 and np.all(np.isfinite(heights[k - 1:k + 2])):
        below, top, above = heights[k - 1:k + 2]
        bend = below - 2 * top + above
        if bend < 0:
            return float(grid[k] + DRIFT_STEP * 0.5 * (below - above) / bend)
    return float(grid[k])


def fit_drift(windows: list[SyncWindow], moments: LagMoments, fps: float, max_drift_ms_per_min: float) -> float:
    """Drift (ms/min), or 0 when a constant offset explains the clip as well.

    There is drift when the windows span at least ``MIN_DRIFT_SPAN_S``, the 95 % interval of a line
    through their offsets (:func:`drift_line`) excludes zero, and the drift that best lines the blocks up
    (:func:`aligning_drift`) moves the offset by at least half a frame over that span, within
    ``max_drift_ms_per_min``, with each half of the clip on its own drifting the same way. A rate
    mismatch moves the offset at the same pace from start to end; the lag between lips and sound also
    wanders with what is said (the 71 s news clip drops about 30 ms near its middle and rises again),
    and a line through a wander can exclude zero although its halves slope opposite ways.
    """
    line = drift_line(windows, fps)
    if line is None or line.span_s < MIN_DRIFT_SPAN_S or not (line.low_ms_per_min > 0 or line.high_ms_per_min < 0):
        return 0.0
    drift = aligning_drift(moments, max_drift_ms_per_min)
    if abs(drift) / 60.0 * line.span_s < 0.5 * 1000.0 / fps or abs(drift) >= max_drift_ms_per_min:
        return 0.0
    order = np.argsort(moments.block_time_s)
    halves = (order[: order.size // 2], order[order.size // 2:])
    if any(np.sign(aligning_drift(moments, max_drift_ms_per_min, half)) != np.sign(drift) for half in halves):
        return 0.0
    return drift


def find_splices(windows: list[SyncWindow], frame_ms: float, min_confidence: float) -> list[dict[str, float]]:
    """Points where window offsets of at least ``min_confidence`` jump by more than two frames and stay there."""
    usable = [w for w in windows if w.offset_ms is not None and w.confidence >= min_confidence]
    splices = []
    for i in range(2, len(usable) - 1):
        before = np.median([w.offset_ms for w in usable[max(0, i - 3):i]])
        after = np.median([w.offset_ms for w in usable[i:i + 3]])
        if abs(after - before) > 2 * frame_ms and (not splices or usable[i].start_s - splices[-1]["time_s"] > 10):
            splices.append({"time_s": usable[i].start_s, "offset_before_ms": round(float(before), 1),
                            "offset_after_ms": round(float(after), 1)})
    return splices
