"""Drift (a lag that grows over the clip) and splices (a lag that jumps), from the offsets of its windows.

A rate mismatch moves the offset at the same pace from start to end, so drift is the slope of the line
through the windows' offsets; a splice is a step in the window offsets that stays.

For the drift, each window's offset is sought only within the reach of a drift from the whole clip's
peak (:func:`anchored_offsets`): a window searched over the whole range peaks by chance anywhere in it
wherever its few seconds of mouth and sound say little, and a line cannot tell such a peak from the
drift once half the windows have one.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from core.estimate.moments import STEP_MS, steps_within
from core.estimate.peak import find_peak
from core.model import SyncWindow

__all__ = ["MIN_DRIFT_SPAN_S", "MIN_DRIFT_WINDOWS", "anchored_offsets", "drift_interval", "find_splices", "fit_drift",
           "jackknife_groups", "line_drift"]

# Drift needs window offsets spread over at least this span, and at least this many of them.
MIN_DRIFT_SPAN_S = 20.0
MIN_DRIFT_WINDOWS = 4
# The drift's interval leaves out one of this many stretches of the clip at a time: enough for a
# t-interval, few enough that each stretch holds several windows.
JACKKNIFE_GROUPS = 10


def fit_drift(windows: list[SyncWindow], fps: float, max_drift_ms_per_min: float
              ) -> tuple[float, tuple[float, float] | None]:
    """Drift (ms/min), or 0 when a constant offset explains the clip as well; and the 95 % interval of the
    line's drift (:func:`drift_interval`), None where the windows are too few or too close to measure one.

    There is drift when the windows with an offset span at least ``MIN_DRIFT_SPAN_S``, the slope of the line
    through their offsets (:func:`line_drift`) has a 95 % interval that excludes zero, moves the offset by at
    least half a frame over that span within ``max_drift_ms_per_min``, and each half of the clip on its own
    slopes the same way. A rate mismatch moves the offset at the same pace from start to end; the lag between
    lips and sound also wanders with what is said (the 71 s news clip drops about 30 ms near its middle and
    rises again), and a wander can look like a slope although its halves slope opposite ways.
    """
    measured = [w for w in windows if w.offset_ms is not None]
    spans = np.array([(w.start_s, w.end_s) for w in measured]).reshape(-1, 2)
    times, offsets = spans.mean(axis=1), np.array([w.offset_ms for w in measured])
    if times.size < MIN_DRIFT_WINDOWS or np.ptp(times) < MIN_DRIFT_SPAN_S:
        return 0.0, None
    drift, low, high = drift_interval(times, offsets, spans)
    interval = (low, high) if np.isfinite(low) and np.isfinite(high) else None
    if not (low > 0 or high < 0):
        return 0.0, interval
    if abs(drift) / 60.0 * np.ptp(times) < 0.5 * 1000.0 / fps or abs(drift) >= max_drift_ms_per_min:
        return 0.0, interval
    order = np.argsort(times)
    halves = (order[: order.size // 2], order[order.size // 2:])
    if any(np.sign(line_drift(times[half], offsets[half])) != np.sign(drift) for half in halves):
        return 0.0, interval
    return drift, interval


def anchored_offsets(curves: np.ndarray, lags: np.ndarray, spans_s: np.ndarray, anchor_ms: float, fps: float,
                     max_drift_ms_per_min: float) -> list[SyncWindow]:
    """Windows whose offset is the peak of their own correlation within the reach of a drift from
    ``anchor_ms``, the peak of the whole clip read as if it had none.

    Summed without drift, the clip peaks at about the offset of its middle; a drift of at most
    ``max_drift_ms_per_min`` moves the offset at either end of the windows' span by at most half the span
    times that rate, and one frame more allows for where between frames the anchor was read. A window
    whose highest point in that reach lies at its edge has no offset of its own (``None``), as in
    :func:`~core.estimate.peak.find_peak`.

    Parameters
    ----------
    curves : np.ndarray, shape (n, lags)
        Each window's correlation against lag.
    lags : np.ndarray, shape (lags,)
        The lags, in 10 ms steps.
    spans_s : np.ndarray, shape (n, 2)
        Each window's (start, end), media seconds.
    anchor_ms, fps, max_drift_ms_per_min : float
        The whole clip's peak (ms), the frame rate, and the largest drift to look for.
    """
    reach_ms = max_drift_ms_per_min / 60.0 * float(np.ptp(spans_s.mean(axis=1))) / 2.0 + 1000.0 / fps
    anchor_steps = round(anchor_ms / STEP_MS)
    windows = []
    for curve, (start, end) in zip(curves, spans_s, strict=True):
        peak = find_peak(curve, lags - anchor_steps, steps_within(reach_ms))
        offset = peak.lag_ms + anchor_steps * STEP_MS if peak is not None and peak.interior else None
        windows.append(SyncWindow(float(start), float(end), offset, 0.0))
    return windows


def line_drift(times_s: np.ndarray, offsets_ms: np.ndarray) -> float:
    """The slope (ms/min) of the line through window offsets, by Siegel's repeated median: for each window the
    median of its slopes to every other, and the median of those.

    A window's offset is where its own correlation peaks, sharp to a few milliseconds when its mouth and
    sound match, anywhere at all when they do not (the other person speaking in a debate, a pause, a hand over
    the mouth). The repeated median stays on the line until half the windows are such chance peaks; a
    least-squares line follows a single one, and Theil-Sen's median of all slopes gives way at three in ten.

    Parameters
    ----------
    times_s, offsets_ms : np.ndarray, shape (n,)
        Each window's centre (media seconds) and offset (ms).
    """
    if times_s.size < 2 or np.ptp(times_s) == 0:
        return 0.0
    return float(stats.siegelslopes(offsets_ms, times_s).slope) * 60.0


def drift_interval(times_s: np.ndarray, offsets_ms: np.ndarray, spans_s: np.ndarray,
                   groups: int = JACKKNIFE_GROUPS) -> tuple[float, float, float]:
    """The line's drift with its 95 % interval (ms/min), by a delete-a-group jackknife over time.

    The windows, in time order, are cut into ``groups`` stretches (:func:`jackknife_groups`); the drift is
    measured again without each stretch in turn, and the spread of those readings gives the standard
    error. Windows are the clip's own evidence, so the interval needs no constant fitted on other clips; a
    stretch where the lag wanders with what is said widens it, as it should.

    Parameters
    ----------
    times_s, offsets_ms : np.ndarray, shape (n,)
        As :func:`line_drift`.
    spans_s : np.ndarray, shape (n, 2)
        Each window's (start, end), media seconds.

    Returns
    -------
    drift, low, high : float
        The drift of every window and the ends of its interval (infinite with fewer than three stretches).
    """
    drift = line_drift(times_s, offsets_ms)
    stretches = jackknife_groups(spans_s, groups)
    if len(stretches) < 3:
        return drift, -np.inf, np.inf
    readings = []
    for stretch in stretches:
        kept = np.ones(times_s.size, bool)
        kept[stretch] = False
        readings.append(line_drift(times_s[kept], offsets_ms[kept]))
    g = len(stretches)
    error = float(np.sqrt((g - 1) / g * np.sum((np.array(readings) - np.mean(readings)) ** 2)))
    spread = stats.t.ppf(0.975, g - 1) * error
    return drift, drift - spread, drift + spread


def jackknife_groups(spans_s: np.ndarray, groups: int) -> list[np.ndarray]:
    """Window indices cut into at most ``groups`` stretches of time, for :func:`drift_interval`.

    Windows read in one go are cut into equal runs. Windows read in separate excerpts (spread over a long
    file) are grouped whole excerpts at a time: the lag wanders with what is said over seconds, so the
    windows of one excerpt are one piece of evidence about the drift, not several.

    Parameters
    ----------
    spans_s : np.ndarray, shape (n, 2)
        Each window's (start, end), media seconds.
    """
    order = np.argsort(spans_s.mean(axis=1), kind="stable")
    spans = spans_s[order]
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
