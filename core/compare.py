"""Comparing two renders of the same programme: audio offset to the sample, drift, and video frame offset.

Positive offsets mean the DELIVERED render is later than the REFERENCE (its sound, or its pictures,
come after the reference's).

Memory does not grow with the renders' length: the sound is spooled to temporary files
(:func:`~core.decode.spool_audio`) of which only an excerpt (for the overall offset) and short windows (for the
drift) are read back, and the pictures are compared as they are decoded (:func:`video_frame_offset`).
"""

from __future__ import annotations

import os
from array import array
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import asdict, dataclass, field

import cv2
import numpy as np
import scipy.fft
import scipy.signal

from core.decode import AudioTrack, SpooledAudio, iter_video_frames, spool_audio
from core.errors import MediaError
from core.levels import LEVEL_FRAME_S, speech_frames
from core.probe import probe
from core.progress import ProgressFn, no_progress

__all__ = ["Comparison", "audio_drift", "audio_offset", "compare_files", "gcc_phat", "offset_excerpts",
           "sounding_start_s", "thumbnails", "video_frame_offset"]

# Thumbnails this small are compared quickly and still see a mouth open and close.
THUMB_SIDE = 32
# Stretches compared for drift: short, so that drift barely smears the correlation peak within one
# (0.5 ms per window at 30 ms/min), spread evenly from start to end.
DRIFT_WINDOW_S = 1.0
DRIFT_WINDOWS = 9
# A window whose offset is further than this from the line through the others heard something else (silence, music).
DRIFT_OUTLIER_MS = 2.0
# Share of each cut-out faded in and out before correlating.
TAPER_SHARE = 0.1
# The overall offset is measured on an excerpt of the reference of at most this many samples (60 s at 48 kHz, fewer
# seconds at higher rates) against that of the delivered widened by the search either way: gcc_phat takes about
# 35 bytes a sample of the two (200 MB for these at the default search), whatever the rate and the length. A minute
# of sound pins an offset to a fraction of a sample.
OFFSET_EXCERPT_SAMPLES = 60 * 48000
# An excerpt has sound when at least this share of its level frames is above the silence threshold.
EXCERPT_SOUND_SHARE = 0.5


def gcc_phat(reference: np.ndarray, delivered: np.ndarray, max_lag: int, centre: int = 0) -> tuple[float, float]:
    """Lag of ``delivered`` behind ``reference`` by phase-transform cross-correlation, to a fraction of a sample.

    Parameters
    ----------
    reference, delivered : np.ndarray
        Mono signals at the same rate (any lengths).
    max_lag : int
        Largest lag to consider either way of ``centre``, samples.
    centre : int
        Lag the search is centred on, samples: a ``delivered`` cut out from earlier than ``reference`` (to
        have room either side of the expected lag) is expected that many samples late.

    Returns
    -------
    lag : float
        Samples by which ``delivered`` is later (``delivered[n] ≈ reference[n - lag]``); the integer
        peak is refined to 1e-4 sample on the band-limited correlation.
    strength : float
        Height of the whitened correlation peak (1 for identical shifted signals, near 0 for unrelated ones).
    """
    if reference.size == 0 or delivered.size == 0:
        raise ValueError("both signals need samples")
    if max_lag < 1:
        raise ValueError("max_lag must be at least one sample")
    n = scipy.fft.next_fast_len(reference.size + delivered.size)
    # Tapered ends: whitening turns the hard edges of two cut-outs into a false peak where the edges line up.
    # Each transform takes 16 bytes a bin (46 MB for a minute at 48 kHz); each is dropped, or reused in place, as
    # soon as it is done with.
    spectrum = scipy.fft.rfft(_tapered(delivered), n)
    spectrum *= np.conj(scipy.fft.rfft(_tapered(reference), n))
    magnitude = np.abs(spectrum)
    spectrum /= np.maximum(magnitude, 1e-12 * (magnitude.max() or 1.0))
    del magnitude
    max_lag = max(0, min(max_lag, n // 2 - 1 - abs(centre)))  # within half the circular correlation
    lags = np.arange(centre - max_lag, centre + max_lag + 1)
    window = scipy.fft.irfft(spectrum, n)[lags % n]  # a negative lag is at the end of the circular correlation
    peak = int(np.argmax(window))
    lag = float(lags[peak])
    if 0 < peak < window.size - 1:
        lag = _refine_peak(spectrum, n, lag)
    return lag, float(window[peak])


def _refine_peak(spectrum: np.ndarray, n: int, lag: float) -> float:
    """The maximum of the band-limited correlation within a sample of ``lag``, found by golden-section search.

    A parabola through three samples of the whitened (sinc-shaped) peak is biased by up to a tenth
    of a sample; evaluating the correlation itself between samples is not. ``spectrum`` (of an ``n``-point
    real transform) is weighted in place: each bin but the first and the Nyquist one stands for two.
    """
    weighted = spectrum
    weighted[1:spectrum.size - 1 + n % 2] *= 2.0
    step = 2j * np.pi * np.arange(spectrum.size) / n

    def height(tau: float) -> float:
        return float(np.real(np.dot(weighted, np.exp(step * tau))))

    ratio = (np.sqrt(5.0) - 1.0) / 2.0
    low, high = lag - 1.0, lag + 1.0
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = height(a), height(b)
    while high - low > 1e-4:
        if fa > fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = height(a)
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = height(b)
    return (low + high) / 2.0


def _tapered(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64) * scipy.signal.windows.tukey(x.size, TAPER_SHARE)


@dataclass(frozen=True)
class Comparison:
    """How far a delivered render is from its reference.

    ``audio_offset_ms`` is the best single shift over the whole clip, or over a minute or so of a longer one
    nearest its middle (:func:`offset_excerpts`; under drift, about the mean over the whole); exact when there is
    no drift. ``offset_at_start_ms`` and ``drift_ms_per_min`` are the line through the window offsets.
    """

    reference: str
    delivered: str
    rate: int
    audio_offset_ms: float
    audio_offset_samples: float
    audio_strength: float
    drift_ms_per_min: float | None
    offset_at_start_ms: float | None
    windows: list[dict[str, float | bool]] = field(default_factory=list)
    video_offset_frames: int | None = None
    video_offset_ms: float | None = None
    video_fps: float | None = None
    video_match: float | None = None

    def to_dict(self) -> dict:
        return {"schema": "lipalign.compare/1", **asdict(self)}


def audio_offset(reference: AudioTrack, delivered: AudioTrack, search_s: float = 2.0,
                 around_s: float | None = None) -> tuple[float, float]:
    """(offset in samples, strength) of the delivered audio behind the reference, on their media timelines.

    Offsets within ``search_s`` seconds of ``around_s`` (seconds) are searched; by default of the offset at which
    the two tracks' first samples line up.
    """
    if reference.rate != delivered.rate:
        raise ValueError("both tracks must be at the same rate")
    rate = reference.rate
    lined_up = (delivered.start_s - reference.start_s) * rate
    centre = 0 if around_s is None else round(around_s * rate - lined_up)
    lag, strength = gcc_phat(reference.samples, delivered.samples, max(1, round(search_s * rate)), centre)
    return lag + lined_up, strength


def sounding_start_s(levels_dbfs: np.ndarray, length_s: float) -> float:
    """Where an excerpt of ``length_s`` seconds with sound starts, seconds from the first level frame.

    Parameters
    ----------
    levels_dbfs : (m,) float array
        Levels of :data:`~core.levels.LEVEL_FRAME_S` frames (:func:`~core.levels.frame_levels_dbfs`).
    length_s : float
        The excerpt's length, seconds.

    Returns
    -------
    float
        The start, on the level frames' grid, of the excerpt nearest the middle among those at least
        :data:`EXCERPT_SOUND_SHARE` sound (:func:`~core.levels.speech_frames`), else of the one with the most sound;
        0 when the levels are no longer than the excerpt. Near the middle because under drift the offset there is
        the mean over the whole file, which the drift windows at both ends are searched around (:func:`audio_drift`).
    """
    frames = max(1, round(length_s / LEVEL_FRAME_S))
    if levels_dbfs.size <= frames:
        return 0.0
    sound = np.concatenate([[0], np.cumsum(speech_frames(levels_dbfs))])
    counts = sound[frames:] - sound[:-frames]  # frames with sound in the excerpt starting at each frame
    enough = np.flatnonzero(counts >= EXCERPT_SOUND_SHARE * frames)
    candidates = enough if enough.size else np.flatnonzero(counts == counts.max())
    middle = (counts.size - 1) / 2.0
    return float(candidates[np.argmin(np.abs(candidates - middle))] * LEVEL_FRAME_S)


def offset_excerpts(reference: SpooledAudio, delivered: SpooledAudio, search_s: float) -> tuple[AudioTrack, AudioTrack]:
    """The parts of two spooled tracks the overall offset is measured on (:func:`audio_offset`), in memory.

    At most :data:`OFFSET_EXCERPT_SAMPLES` of the reference where it has sound (:func:`sounding_start_s`), and the
    delivered samples at the same places counted from each track's first sample, widened by ``search_s`` either way
    so that every offset searched compares the whole excerpt. A track no longer than its part is taken whole, so
    that clips up to that length are measured exactly as whole files are: search them around
    ``delivered.start_s - reference.start_s``.
    """
    length_s = OFFSET_EXCERPT_SAMPLES / reference.rate
    start_s = reference.start_s + sounding_start_s(reference.levels_dbfs, length_s)
    lined_up_s = delivered.start_s - reference.start_s
    return (_part(reference, start_s, start_s + length_s),
            _part(delivered, start_s + lined_up_s - search_s, start_s + lined_up_s + length_s + search_s))


def _part(audio: SpooledAudio, start_s: float, end_s: float) -> AudioTrack:
    """``audio`` between media seconds ``start_s`` and ``end_s``, or all of it when it is no longer than that."""
    return audio.whole() if audio.duration_s <= end_s - start_s else audio.between(start_s, end_s)


def audio_drift(reference: AudioTrack | SpooledAudio, delivered: AudioTrack | SpooledAudio, offset_samples: float,
                window_s: float = DRIFT_WINDOW_S) -> tuple[float | None, float | None, list[dict[str, float | bool]]]:
    """(drift ms/min, offset at time 0 ms, windows) from the offsets in short windows fitted by a line.

    Each window of the reference is matched against the delivered audio around where the overall
    offset puts it, so the windows only have to find what changed; only the windows are read, so
    spooled tracks of any length take a few seconds of samples. None when the clip is too short
    for windows a second apart.
    """
    rate = reference.rate
    duration = min(reference.duration_s, delivered.duration_s)
    length = min(window_s, duration / DRIFT_WINDOWS)
    if length < 0.25:
        return None, None, []
    margin = round(0.25 * rate)
    lead = offset_samples - (delivered.start_s - reference.start_s) * rate
    windows = []
    for start_s in np.linspace(0.0, duration - length, DRIFT_WINDOWS):
        r0 = round(start_s * rate)
        ref = reference.read(r0, r0 + round(length * rate))
        d0 = max(0, round(r0 + lead) - margin)
        seg = delivered.read(d0, d0 + ref.size + 2 * margin)
        if seg.size < ref.size // 2:
            continue
        lag, strength = gcc_phat(ref, seg, 2 * margin)
        offset = (d0 + lag - r0) / rate + delivered.start_s - reference.start_s
        windows.append({"time_s": float(start_s + length / 2.0), "offset_ms": offset * 1000.0, "strength": strength})
    if len(windows) < 2:
        return None, None, windows
    t = np.array([w["time_s"] for w in windows])
    o = np.array([w["offset_ms"] for w in windows])
    keep = np.ones(t.size, bool)
    while True:
        fit = np.polyfit(t[keep], o[keep], 1)
        residual = np.where(keep, np.abs(o - np.polyval(fit, t)), -1.0)
        if keep.sum() <= 3 or residual.max() <= DRIFT_OUTLIER_MS:
            break
        keep[np.argmax(residual)] = False
    for window, used in zip(windows, keep, strict=True):
        window["used"] = bool(used)
    return float(fit[0] * 60.0), float(fit[1]), windows


def thumbnails(path: str | os.PathLike[str]) -> Iterator[tuple[float, np.ndarray]]:
    """(presentation time s, grayscale (THUMB_SIDE, THUMB_SIDE) float32 thumbnail) of each frame of ``path`` in
    turn, as it is decoded."""
    for frame in iter_video_frames(path, max_side=4 * THUMB_SIDE):
        gray = cv2.cvtColor(frame.image, cv2.COLOR_RGB2GRAY)
        yield frame.time_s, cv2.resize(gray, (THUMB_SIDE, THUMB_SIDE), interpolation=cv2.INTER_AREA).astype(np.float32)


def video_frame_offset(reference: Iterable[np.ndarray], delivered: Iterable[np.ndarray],
                       max_lag: int) -> tuple[int, float]:
    """Frames by which the delivered pictures are later, and the mean absolute difference (0-255) at that lag.

    The lag minimises the mean absolute difference of the thumbnails over the frames both share
    (at least half of the shorter clip); the first lag from ``-max_lag`` up wins a tie.

    Both are read once, in step, the delivered frames ``max_lag`` ahead: each reference frame is compared
    with the up to ``2 * max_lag + 1`` delivered frames it pairs with at some lag, the only ones held, and
    the differences are summed per lag. So memory stays at those frames whatever the clips' length, every
    frame still counts (no stretch chosen, which a still or black stretch could not place), and a delivered
    clip longer than the reference is read only as far as it pairs.

    Parameters
    ----------
    reference, delivered : iterables of (h, w) float arrays
        Thumbnails in presentation order, all of one size.
    max_lag : int
        Largest lag to consider either way, frames.
    """
    span = 2 * max_lag + 1
    sums, pairs = np.zeros(span), np.zeros(span, np.int64)  # at lags -max_lag .. max_lag
    later = iter(delivered)
    held: deque[np.ndarray] = deque()  # delivered frames first, first + 1, ... (indices from 0)
    first = taken = count = pixels = 0
    ended = False
    for i, ref in enumerate(reference):
        while not ended and taken <= i + max_lag:
            frame = next(later, None)
            ended = frame is None
            if frame is not None:
                held.append(frame)
                taken += 1
        while held and first < i - max_lag:
            held.popleft()
            first += 1
        if held:
            at = first - i + max_lag  # where held[0]'s lag is in sums
            sums[at:at + len(held)] += np.abs(np.asarray(held) - ref).reshape(len(held), -1).sum(axis=1)
            pairs[at:at + len(held)] += 1
        count, pixels = i + 1, ref.size
    need = max(1, min(count, taken) // 2)  # taken is the delivered clip's length when it ended first
    usable = pairs >= need
    if not usable.any():
        return 0, np.inf
    means = np.where(usable, sums / np.maximum(pairs * pixels, 1), np.inf)
    best = int(np.argmin(means))
    return best - max_lag, float(means[best])


def _video_fields(reference: str, delivered: str, fps: float, search_s: float) -> dict[str, float | int]:
    """The :class:`Comparison` fields of the video frame offset, the pictures compared as they are decoded.

    Only the frames' times are kept, 8 bytes a frame (0.7 MB an hour at 25 fps), for the offset in ms:
    the median time between the frames paired at the lag found.
    """
    ref_t, dlv_t = array("d"), array("d")
    with closing(thumbnails(reference)) as ref_frames, closing(thumbnails(delivered)) as dlv_frames:
        lag, diff = video_frame_offset(_noting_times(ref_frames, ref_t), _noting_times(dlv_frames, dlv_t),
                                       max(1, round(search_s * fps)))
    pairs = min(len(ref_t) - max(0, -lag), len(dlv_t) - max(0, lag))
    shift_s = np.median(np.asarray(dlv_t)[max(0, lag):][:pairs] - np.asarray(ref_t)[max(0, -lag):][:pairs])
    return {"video_offset_frames": lag, "video_offset_ms": float(shift_s * 1000.0), "video_fps": fps,
            "video_match": diff}


def _noting_times(frames: Iterable[tuple[float, np.ndarray]], times: array) -> Iterator[np.ndarray]:
    """The thumbnails of ``frames``, their times appended to ``times`` as they pass."""
    for time_s, thumb in frames:
        times.append(time_s)
        yield thumb


def compare_files(reference: str | os.PathLike[str], delivered: str | os.PathLike[str], *, search_s: float = 2.0,
                  progress: ProgressFn = no_progress) -> Comparison:
    """Measure the audio offset (to the sample), the drift and the video frame offset between two renders.

    The audio is compared at the higher of the two source rates, mono: the overall offset on an excerpt
    (:func:`offset_excerpts`, the whole tracks up to a minute or so), the drift on short windows spread over the
    whole (:func:`audio_drift`).

    Raises
    ------
    MediaError
        Either file is unreadable or lacks audio.
    """
    reference, delivered = os.fspath(reference), os.fspath(delivered)
    ref_info, dlv_info = probe(reference), probe(delivered)
    for info in (ref_info, dlv_info):
        if not info.has_audio:
            raise MediaError(f"{info.path}: has no audio stream to compare")
    if not search_s > 0:
        raise MediaError(f"search must be positive, not {search_s}")
    rate = max(ref_info.sample_rate or 0, dlv_info.sample_rate or 0) or 48000
    progress(0.0, "decoding audio")
    with spool_audio(reference, rate) as ref_audio, spool_audio(delivered, rate) as dlv_audio:
        progress(0.3, "matching audio")
        offset, strength = audio_offset(*offset_excerpts(ref_audio, dlv_audio, search_s), search_s,
                                        dlv_audio.start_s - ref_audio.start_s)
        drift, offset_at_start, windows = audio_drift(ref_audio, dlv_audio, offset)
    fields = {}
    if ref_info.has_video and dlv_info.has_video:
        progress(0.5, "matching pictures")
        fields = _video_fields(reference, delivered, ref_info.fps_measured or ref_info.fps_declared or 25.0, search_s)
    progress(1.0, "done")
    return Comparison(reference=reference, delivered=delivered, rate=rate,
                      audio_offset_ms=offset / rate * 1000.0, audio_offset_samples=offset, audio_strength=strength,
                      drift_ms_per_min=drift, offset_at_start_ms=offset_at_start, windows=windows, **fields)
