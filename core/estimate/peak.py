"""The best lag of a correlation curve, to a fraction of a grid step, and how far it stands out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.estimate.moments import STEP_MS

__all__ = ["PEAK_TOP", "Peak", "find_peak", "prominence"]

# A peak's top is where the curve is within this fraction of its height: about twice the median spread
# (0.6 %) of one clip's peak height across shifted copies of its audio, on the generated clips.
PEAK_TOP = 0.01
# Lags within this many steps of a peak belong to it; the rest of the curve shows what chance reaches.
PEAK_WIDTH_STEPS = 15


@dataclass(frozen=True)
class Peak:
    """The best lag of a correlation curve.

    ``lag_ms`` is the middle of the peak's top; ``height`` the curve's value there; ``prominence``
    how far it stands above the rest of the curve (:func:`prominence`); ``interior`` is False when
    the top runs to the edge of the searched range, where the true peak may lie beyond.
    """

    lag_ms: float
    height: float
    prominence: float
    interior: bool
    index: int


def find_peak(curve: np.ndarray, lags: np.ndarray, search_steps: int) -> Peak | None:
    """The highest maximum of ``curve`` within ``±search_steps``, or None if the curve is empty there.

    The lag is the middle of the peak's top: the contiguous lags around the maximum whose value is
    within ``PEAK_TOP`` of its height, with the crossings interpolated between steps. On a rounded
    peak that is its vertex; on a flat top (a mouth that moves smoothly over several syllables) it is
    the middle of the plateau rather than whichever of its ripples came out highest, which moves by
    frames when the audio is shifted.
    """
    inside = np.abs(lags) <= search_steps
    values = np.where(inside & np.isfinite(curve), curve, -np.inf)
    if not np.isfinite(values).any():
        return None
    k = int(np.argmax(values))
    interior = 0 < k < len(curve) - 1 and bool(np.isfinite(values[k - 1]) and np.isfinite(values[k + 1]))
    lag = float(lags[k])
    if interior:
        level = curve[k] - PEAK_TOP * abs(curve[k])
        ends = [_top_end(values, lags, k, level, direction) for direction in (-1, 1)]
        interior = None not in ends
        lag = 0.5 * (ends[0] + ends[1]) if interior else lag
    return Peak(lag * STEP_MS, float(curve[k]), prominence(values, k), bool(interior), k)


def prominence(curve: np.ndarray, k: int) -> float:
    """How far ``curve[k]`` stands above the curve away from it, in robust standard deviations.

    The curve beyond ``PEAK_WIDTH_STEPS`` of ``k`` (finite values only) shows what the same picture and
    sound reach at wrong lags; its median and 1.4826 times its median absolute deviation stand for
    chance's level and spread. 0 when fewer than ten such lags exist.
    """
    away = np.isfinite(curve) & (np.abs(np.arange(curve.size) - k) > PEAK_WIDTH_STEPS)
    rest = curve[away]
    if rest.size < 10:
        return 0.0
    middle = float(np.median(rest))
    spread = 1.4826 * float(np.median(np.abs(rest - middle))) + 1e-9
    return float((curve[k] - middle) / spread)


def _top_end(curve: np.ndarray, lags: np.ndarray, k: int, level: float, direction: int) -> float | None:
    """Lag (in steps) where the curve, walking from its peak ``k`` in ``direction``, falls below ``level``."""
    j = k
    while 0 <= j + direction < len(curve) and curve[j + direction] >= level:
        j += direction
    beyond = j + direction
    if not 0 <= beyond < len(curve) or not np.isfinite(curve[beyond]):
        return None
    return float(lags[j] + direction * (curve[j] - level) / (curve[j] - curve[beyond]))
