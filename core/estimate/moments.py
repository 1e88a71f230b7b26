"""Weighted second moments of video features against audio features, per block of the clip and per lag.

Moments add up: the whole clip's moments at a lag are the sum of its blocks', and a clip whose lag
drifts is summed with each block shifted by the lag the drift implies there (:func:`combined_moments`).
Every correlation the estimator reads (the cross-speaker projection, the clip's own canonical
correlation) is computed from these sums (:mod:`core.estimate.correlation`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import signal

from core.features import GRID_RATE

__all__ = ["STEP_MS", "BlockMoments", "LagMoments", "block_edges", "block_moments", "combined_moments",
           "drift_shift_steps", "iter_block_moments", "join_moments", "lagged_sums", "shift_lags", "steps_within"]

STEP_MS = 1000.0 / GRID_RATE


@dataclass(frozen=True)
class LagMoments:
    """Weighted moments of video features against audio features, per block and lag.

    ``first[b, k]`` is the (1 + p, 1 + q) matrix of sums of weight, video features, audio features
    and their cross products at lag ``lags[k]`` (grid steps, positive = audio later); ``video[b, k]``
    and ``audio[b, k]`` are the (p, p) and (q, q) sums of squares. ``block_time_s`` is each block's
    centre and ``block_span_s`` its (start, end), in media time.
    """

    lags: np.ndarray
    first: np.ndarray
    video: np.ndarray
    audio: np.ndarray
    block_time_s: np.ndarray
    block_span_s: np.ndarray

    def block(self, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The moments of block ``b`` at every lag: (first, video, audio)."""
        return self.first[b], self.video[b], self.audio[b]


def lagged_sums(a: np.ndarray, b: np.ndarray, max_lag: int) -> np.ndarray:
    """``out[j, i, m] = sum_t a[t, i] * b[t + j, m]`` for ``j`` in ``0 .. 2 * max_lag``.

    ``b`` has ``2 * max_lag`` more rows than ``a``: row ``t + max_lag`` of ``b`` is the same
    instant as row ``t`` of ``a``, so output row ``j`` is lag ``j - max_lag``.
    """
    assert b.shape[0] == a.shape[0] + 2 * max_lag
    return signal.fftconvolve(b[:, None, :], a[::-1, :, None], mode="valid", axes=0)


def block_edges(n: int, block_len: int) -> list[int]:
    """Start of every block of ``block_len`` steps, and the end; a short tail joins the block before."""
    edges = list(range(0, n, block_len))
    if len(edges) > 1 and n - edges[-1] < block_len // 2:
        edges.pop()
    edges.append(n)
    return edges


@dataclass(frozen=True)
class BlockMoments:
    """The moments of one block at every lag (see :class:`LagMoments`); ``span_s`` is its (start, end)."""

    span_s: tuple[float, float]
    first: np.ndarray
    video: np.ndarray
    audio: np.ndarray

    @property
    def centre_s(self) -> float:
        return 0.5 * (self.span_s[0] + self.span_s[1])


def iter_block_moments(video: np.ndarray, video_weight: np.ndarray, audio: np.ndarray, audio_weight: np.ndarray,
                       max_lag: int, block_len: int, grid_start_s: float) -> Iterator[BlockMoments]:
    """Moments of every block of ``block_len`` grid steps at lags ``-max_lag .. max_lag``, one block at a time.

    Parameters
    ----------
    video : (n, p) float, video features on the grid.
    video_weight : (n,) float, weight of each video step (0 without a face).
    audio : (n + 2 * max_lag, q) float, audio features padded by ``max_lag`` rows either side.
    audio_weight : (n + 2 * max_lag,) float, weight of each audio step (0 without speech).
    max_lag : int, largest lag in grid steps.
    block_len : int, block length in grid steps.
    grid_start_s : float, media time of video row 0.

    Yields
    ------
    BlockMoments
        In time order; callers that only sum them never hold more than one (a long clip's moments
        of many features would not fit in memory together).
    """
    n, p = video.shape
    q = audio.shape[1]
    for start, end in itertools.pairwise(block_edges(n, block_len)):
        mv = video_weight[start:end, None]
        wa = audio_weight[start:end + 2 * max_lag, None]
        x = video[start:end]
        y = audio[start:end + 2 * max_lag]
        first = lagged_sums(np.hstack([mv, mv * x]), np.hstack([wa, wa * y]), max_lag)
        xx = (x[:, :, None] * x[:, None, :]).reshape(end - start, p * p)
        yy = (y[:, :, None] * y[:, None, :]).reshape(-1, q * q)
        yield BlockMoments((grid_start_s + start / GRID_RATE, grid_start_s + end / GRID_RATE), first,
                           lagged_sums(mv * xx, wa, max_lag).reshape(-1, p, p),
                           lagged_sums(mv, wa * yy, max_lag).reshape(-1, q, q))


def block_moments(video: np.ndarray, video_weight: np.ndarray, audio: np.ndarray, audio_weight: np.ndarray,
                  max_lag: int, block_len: int, grid_start_s: float) -> LagMoments:
    """Every block's moments together (:func:`iter_block_moments`), for features few enough to hold."""
    blocks = list(iter_block_moments(video, video_weight, audio, audio_weight, max_lag, block_len, grid_start_s))
    return LagMoments(np.arange(-max_lag, max_lag + 1), np.stack([b.first for b in blocks]),
                      np.stack([b.video for b in blocks]), np.stack([b.audio for b in blocks]),
                      np.array([b.centre_s for b in blocks]), np.array([b.span_s for b in blocks]))


def join_moments(parts: list[LagMoments]) -> LagMoments:
    """The blocks of several stretches of one clip (measured at the same lags) as one set, in time order."""
    order = np.argsort(np.concatenate([p.block_time_s for p in parts]), kind="stable")
    return LagMoments(parts[0].lags, *(np.concatenate([getattr(p, name) for p in parts])[order]
                                      for name in ("first", "video", "audio", "block_time_s", "block_span_s")))


def steps_within(ms: float) -> int:
    """Lag steps that reach ``ms`` either way: a search of ``±ms`` covers ``±steps_within(ms)`` steps."""
    return int(np.ceil(ms / STEP_MS))


def drift_shift_steps(drift_ms_per_min: float, time_s: float) -> float:
    """Lag steps by which a drift of ``drift_ms_per_min`` moves the offset at media time ``time_s``."""
    return drift_ms_per_min * time_s / 60.0 / STEP_MS


def shift_lags(x: np.ndarray, shift: float) -> np.ndarray:
    """``x`` (lags first) read at ``lag + shift`` steps, linearly interpolated; zero past the ends."""
    whole = int(np.floor(shift))
    frac = shift - whole
    out = np.zeros_like(x)
    n = x.shape[0]
    for part, weight in ((whole, 1.0 - frac), (whole + 1, frac)):
        if weight == 0.0:
            continue
        lo, hi = max(0, -part), min(n, n - part)
        if lo < hi:
            out[lo:hi] += weight * x[lo + part:hi + part]
    return out


def combined_moments(moments: LagMoments, drift_ms_per_min: float,
                     blocks: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The moments of the whole clip (or of ``blocks``) against the offset at media time 0.

    Every block is shifted by the lag ``drift_ms_per_min`` implies at its centre, so a drifting clip
    sums its evidence at one lag.
    """
    chosen = range(moments.first.shape[0]) if blocks is None else blocks
    first = np.zeros(moments.first.shape[1:])
    video = np.zeros(moments.video.shape[1:])
    audio = np.zeros(moments.audio.shape[1:])
    for b in chosen:
        shift = drift_shift_steps(drift_ms_per_min, moments.block_time_s[b])
        first += shift_lags(moments.first[b], shift)
        video += shift_lags(moments.video[b], shift)
        audio += shift_lags(moments.audio[b], shift)
    return first, video, audio
