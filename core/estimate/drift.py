"""Drift (a lag that grows over the clip) and splices (a lag that jumps), from the offsets of its windows.

A rate mismatch moves the offset at the same pace from start to end, so drift is the slope that lines
the blocks' correlation curves up; a splice is a step in the window offsets that stays.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

from core.estimate.correlation import projected_correlation
from core.estimate.moments import STEP_MS, LagMoments, combined_moments
from core.model import SyncWindow

__all__ = ["MIN_DRIFT_SPAN_S", "MIN_DRIFT_WINDOWS", "aligning_drift", "drift_interval", "find_splices", "fit_drift",
           "jackknife_groups"]

# Drift needs window estimates spread over at least this span, and at least this many of them.
MIN_DRIFT_SPAN_S = 20.0
MIN_DRIFT_WINDOWS = 4
# Candidate drifts are this far apart, in ms/min.
DRIFT_STEP = 2.5
# The drift's interval leaves out one of this many stretches of the clip at a time: enough for a
# t-interval, few enough that an hour-long file costs ten readings, not one per block.
JACKKNIFE_GROUPS = 10


def _window_times(windows: list[SyncWindow]) -> np.ndarray:
    """Centre time (s) of every window that has an offset."""
    return np.array([(w.start_s + w.end_s) / 2 for w in windows if w.offset_ms is not None])


def aligning_drift(moments: LagMoments, max_drift_ms_per_min: float, blocks: np.ndarray | None = None) -> float:
    """The drift (ms/min) under which the blocks' correlation curves, summed, peak highest.

    Each candidate drift shifts every block by the lag it implies at the block's time
    (:func:`core.estimate.moments.combined_moments`); the true drift lines the blocks' peaks up. Unlike a
    line through each block's own best lag, this weighs every block by how sharply it peaks, so the
    few-millisecond wander of a block's best lag with what is said moves it less.
    Searched as :func:`_peak_drifts` says.
    """
    return _peak_drifts(lambda grid: np.array([[_height(combined_moments(moments, d, blocks)) for d in grid]]),
                        _span_s(moments, blocks), max_drift_ms_per_min)[0]


def drift_interval(moments: LagMoments, max_drift_ms_per_min: float,
                   groups: int = JACKKNIFE_GROUPS) -> tuple[float, float, float]:
    """The aligning drift with its 95 % interval (ms/min), by a delete-a-group jackknife over time.

    The blocks, in time order, are cut into ``groups`` stretches (:func:`jackknife_groups`); the drift is
    measured again without each stretch in turn, and the spread of those readings gives the standard
    error. Blocks are the clip's own evidence, so the interval needs no constant fitted on other clips; a
    stretch where the lag wanders with what is said widens it, as it should.

    Returns
    -------
    drift, low, high : float
        The drift on every block and the ends of its interval.
    """
    stretches = jackknife_groups(moments, groups)
    if len(stretches) < 3:
        return aligning_drift(moments, max_drift_ms_per_min), -np.inf, np.inf

    def heights(grid: np.ndarray) -> np.ndarray:
        # Moments add up over blocks, so the sums without a stretch are the clip's sums less the stretch's: one
        # pass over the candidate drifts gives the clip's drift and every reading of the jackknife.
        out = np.empty((len(stretches) + 1, grid.size))
        for j, d in enumerate(grid):
            parts = [combined_moments(moments, d, s) for s in stretches]
            whole = [sum(part[m] for part in parts) for m in range(3)]
            out[0, j] = _height(whole)
            for k, part in enumerate(parts, start=1):
                out[k, j] = _height([w - x for w, x in zip(whole, part, strict=True)])
        return out

    drift, *readings = _peak_drifts(heights, _span_s(moments), max_drift_ms_per_min)
    g = len(stretches)
    error = float(np.sqrt((g - 1) / g * np.sum((np.array(readings) - np.mean(readings)) ** 2)))
    spread = stats.t.ppf(0.975, g - 1) * error
    return drift, drift - spread, drift + spread


def _peak_drifts(heights: Callable[[np.ndarray], np.ndarray], span_s: float,
                 max_drift_ms_per_min: float) -> list[float]:
    """The drift at which each row of ``heights(candidates)`` peaks (the first row is the reading the others
    are about).

    Searched every ``DRIFT_STEP`` ms/min and refined by a parabola through the best three. Over a long span a
    step of the coarse search moves the far end by many lag steps, so the curve over drift is narrower than
    the step and the parabola guesses; there the search goes on around the first row's peak, in steps that
    move the far end of the span by one lag step (``STEP_MS``), and each row's peak inside that finer range
    is refined the same way.
    """
    grid = np.arange(-max_drift_ms_per_min, max_drift_ms_per_min + DRIFT_STEP / 2, DRIFT_STEP)
    drifts = [_best_drift(grid, row) for row in heights(grid)]
    step = STEP_MS * 60.0 / span_s if span_s > 0 else np.inf
    if step < DRIFT_STEP / 2:
        fine = drifts[0] + np.arange(-DRIFT_STEP, DRIFT_STEP + step / 2, step)
        drifts = [_best_drift(fine, row) if 0 < int(np.argmax(row)) < fine.size - 1 else coarse
                  for row, coarse in zip(heights(fine), drifts, strict=True)]
    return drifts


def _span_s(moments: LagMoments, blocks: np.ndarray | None = None) -> float:
    """Seconds from the first block's centre to the last's."""
    times = moments.block_time_s if blocks is None else moments.block_time_s[blocks]
    return float(np.ptp(times)) if times.size else 0.0


def _height(moments: Sequence[np.ndarray]) -> float:
    """The highest correlation over lag of summed moments (first, video, audio); -inf where none is measured."""
    return float(np.nanmax(projected_correlation(*moments), initial=-np.inf))


def _best_drift(grid: np.ndarray, heights: np.ndarray) -> float:
    """The drift of the highest height on the evenly spaced ``grid``, refined between its steps by a parabola
    through the best three."""
    k = int(np.argmax(heights))
    if 0 < k < grid.size - 1 and np.all(np.isfinite(heights[k - 1:k + 2])):
        below, top, above = heights[k - 1:k + 2]
        bend = below - 2 * top + above
        if bend < 0:
            return float(grid[k] + (grid[1] - grid[0]) * 0.5 * (below - above) / bend)
    return float(grid[k])


def fit_drift(windows: list[SyncWindow], moments: LagMoments, fps: float, max_drift_ms_per_min: float
              ) -> tuple[float, tuple[float, float] | None]:
    """Drift (ms/min), or 0 when a constant offset explains the clip as well; and the 95 % interval of the
    drift that lines the blocks up (:func:`drift_interval`), None where the windows are too few or too close
    to measure one.

    There is drift when the windows with an offset span at least ``MIN_DRIFT_SPAN_S``, the drift that best
    lines the blocks up (:func:`aligning_drift`) has a 95 % interval that excludes zero
    (:func:`drift_interval`), moves the offset by at least half a frame over that span within
    ``max_drift_ms_per_min``, and each half of the clip on its own drifts the same way. A rate
    mismatch moves the offset at the same pace from start to end; the lag between lips and sound also
    wanders with what is said (the 71 s news clip drops about 30 ms near its middle and rises again),
    and a wander can look like a slope although its halves slope opposite ways.
    """
    t = _window_times(windows)
    if t.size < MIN_DRIFT_WINDOWS or t.max() - t.min() < MIN_DRIFT_SPAN_S:
        return 0.0, None
    drift, low, high = drift_interval(moments, max_drift_ms_per_min)
    interval = (low, high) if np.isfinite(low) and np.isfinite(high) else None
    if not (low > 0 or high < 0):
        return 0.0, interval
    if abs(drift) / 60.0 * (t.max() - t.min()) < 0.5 * 1000.0 / fps or abs(drift) >= max_drift_ms_per_min:
        return 0.0, interval
    order = np.argsort(moments.block_time_s)
    halves = (order[: order.size // 2], order[order.size // 2:])
    if any(np.sign(aligning_drift(moments, max_drift_ms_per_min, half)) != np.sign(drift) for half in halves):
        return 0.0, interval
    return drift, interval


def jackknife_groups(moments: LagMoments, groups: int) -> list[np.ndarray]:
    """Block indices cut into at most ``groups`` stretches of time, for :func:`drift_interval`.

    Blocks read in one go are cut into equal runs. Blocks read in separate excerpts (windows spread over
    a long file) are grouped whole excerpts at a time: the lag wanders with what is said over seconds, so
    the blocks of one excerpt are one piece of evidence about the drift, not several.
    """
    order = np.argsort(moments.block_time_s, kind="stable")
    spans = moments.block_span_s[order]
    gaps = np.flatnonzero(spans[1:, 0] > np.maximum.accumulate(spans[:-1, 1]) + 1e-6) + 1
    excerpts = np.split(order, gaps)
    if len(excerpts) < 3:
        return [s for s in np.array_split(order, min(groups, order.size)) if s.size]
    chunks = np.array_split(np.arange(len(excerpts)), min(groups, len(excerpts)))
    return [np.concatenate([excerpts[i] for i in chunk]) for chunk in chunks if chunk.size]


def find_splices(windows: list[SyncWindow], frame_ms: float, min_confidence: float) -> list[dict[str, float]]:
    """Points where window offsets of at least ``min_confidence`` jump by more than two frames and stay there.

    A step shows in every window position whose three windows before and three after straddle it; the
    splice is put where the two medians differ most, which is the window boundary nearest the step.
    """
    usable = [w for w in windows if w.offset_ms is not None and w.confidence >= min_confidence]

    def step(i: int) -> tuple[float, float]:
        return (float(np.median([w.offset_ms for w in usable[max(0, i - 3):i]])),
                float(np.median([w.offset_ms for w in usable[i:i + 3]])))

    splices: list[dict[str, float]] = []
    i = 2
    while i < len(usable) - 1:
        before, after = step(i)
        if abs(after - before) <= 2 * frame_ms or (splices and usable[i].start_s - splices[-1]["time_s"] <= 10):
            i += 1
            continue
        best = i
        while best + 1 < len(usable) - 1 and abs(np.subtract(*step(best + 1))) > abs(np.subtract(*step(best))):
            best += 1
        before, after = step(best)
        splices.append({"time_s": usable[best].start_s, "offset_before_ms": round(before, 1),
                        "offset_after_ms": round(after, 1)})
        i = best + 1
    return splices
