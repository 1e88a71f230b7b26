"""Progressive analysis: a long file measured from windows spread over it, until the answer is sure enough.

An hour-long interview has one offset and one drift (or one per stretch between splices), and a small
part of its frames pins them down. The audio is read first: it says where the speech is before any frame
is decoded. Windows of :data:`WINDOW_S` seconds are then read in an order that spreads them over the file
(the start, the end, the middle, the quarters), then goes near its ends in turn, where a window pins a drift
down fastest, then fills in between; each is moved onto the most speech near its place and skipped where
there is little. Every window adds an excerpt to the estimate (its blocks keep their media times, so drift
and splices are seen across windows), and reading stops once the estimate is sure enough
(:func:`sure_enough`) or the file is used up: when the planned windows are read and the answer is still not
sure, the stretches between them are read too (:func:`gaps`). Windows that meet are joined into one
excerpt, so a file read to the end in windows is estimated as if it had been read in one go, from the same
face tracks (a reader that tracks each window afresh gets slightly different landmarks, since the tracker
places each frame's from the previous frame's).

The planning and the stopping rule are pure functions; :func:`measure_progressively` runs them over any
reader of windows, so the estimator benchmark runs exactly this loop over tracks it has cached.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from core.decode import AudioTrack, SpooledAudio
from core.estimate.sync import Excerpt
from core.face import FaceTrack, concatenate_tracks
from core.levels import LEVEL_FRAME_S, speech_frames
from core.model import SyncResult
from core.progress import ProgressFn, no_progress, progress_part

__all__ = ["DRIFT_FRAMES", "DRIFT_MS_PER_MIN", "END_SHARE", "FIRST_WINDOWS", "MIN_SPEECH_SHARE", "PROGRESSIVE_MIN_S",
           "SPREAD_PLACES", "WINDOW_S", "ProgressiveResult", "Window", "gaps", "join_excerpts", "measure_progressively",
           "pivot_s", "plan_windows", "replayed_windows", "speech_per_second", "sure_enough"]

# Seconds of frames read at each place: two of the estimator's five-second blocks.
WINDOW_S = 10.0
# Windows read before the first estimate: the start, the end and the middle, so that drift is seen.
FIRST_WINDOWS = 3
# A place whose best window holds less speech than this share is skipped without decoding a frame.
MIN_SPEECH_SHARE = 0.3
# Files shorter than this are read whole: spreading windows over them would read most of their frames anyway.
PROGRESSIVE_MIN_S = 4 * WINDOW_S
# The drift is pinned down when no drift in its 95 % interval moves the offset anywhere in the file by more than
# this many frames either way: half the frame an answer may be off, so that an unseen drift of a frame over the
# file (which a drift interval round zero reports as none) cannot add to the error of the offset itself.
DRIFT_FRAMES = 0.5
# ... and, on files short enough that half a frame allows more, its interval is no wider than this either side
# of the drift reported: the accuracy a drift answer promises (issue 11's measure of a right drift).
DRIFT_MS_PER_MIN = 10.0
# A splice is placed when the windows either side of it are this close.
SPLICE_GAP_S = 2 * WINDOW_S
# Places spread evenly over the file before the rest go near its ends: the ends, the middle and the quarters,
# so that a splice or a drift that is not a straight line shows.
SPREAD_PLACES = 5
# Then places go to the first and the last eighth of the file, in turn. A drift is a slope, and a window
# pins a slope down by its squared distance from the middle of the file: one in the outer eighths counts about
# 2.3 times one spread evenly over the file, so the drift's interval narrows in fewer windows.
END_SHARE = 0.125


@dataclass(frozen=True)
class Window:
    """Media seconds ``start_s <= t < end_s`` whose frames are read."""

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class ProgressiveResult:
    """What the windows read showed: the chosen face's result, index and excerpts (in time order, those of
    windows that meet joined), and the windows read, in reading order."""

    result: SyncResult
    face: int
    excerpts: list[Excerpt]
    windows: list[Window]


def speech_per_second(audio: AudioTrack | SpooledAudio, duration_s: float) -> np.ndarray:
    """Share of each second of the file (media time from 0) that holds sound above the silence threshold.

    Returns
    -------
    (ceil(duration_s),) float64 in [0, 1]; seconds the audio does not cover are 0.
    """
    seconds = max(int(np.ceil(duration_s)), 1)
    mask = speech_frames(audio.levels_dbfs)
    second = np.floor(audio.start_s + (np.arange(mask.size) + 0.5) * LEVEL_FRAME_S).astype(int)
    inside = (second >= 0) & (second < seconds)
    sound = np.bincount(second[inside], weights=mask[inside].astype(float), minlength=seconds)
    frames = np.bincount(second[inside], minlength=seconds)
    return np.where(frames > 0, sound / np.maximum(frames, 1), 0.0)


def _bisection(lo: float, hi: float) -> list[tuple[float, float]]:
    """Places in [lo, hi] in an order that spreads them (ends, middle, quarters, ...), each with its reach:
    half the distance to the nearest place read before it."""
    places = [(lo, (hi - lo) / 2), (hi, (hi - lo) / 2)] if hi > lo else [(lo, 0.0)]
    step = hi - lo
    while step > WINDOW_S:
        places += [(lo + (k + 0.5) * step, step / 4) for k in range(round((hi - lo) / step))]
        step /= 2
    return places


def _places(lo: float, hi: float) -> list[tuple[float, float]]:
    """Places in [lo, hi] in reading order: the ends, the middle and the quarters (:data:`SPREAD_PLACES`);
    then, in turn, places spread over the first and the last :data:`END_SHARE` of it; then the rest of the
    bisection."""
    spread = _bisection(lo, hi)
    zone = END_SHARE * (hi - lo)
    near_ends = itertools.chain.from_iterable(itertools.zip_longest(_bisection(lo, lo + zone),
                                                                   _bisection(hi - zone, hi)))
    return [*spread[:SPREAD_PLACES], *(p for p in near_ends if p is not None), *spread[SPREAD_PLACES:]]


def plan_windows(speech: np.ndarray, duration_s: float, *, first: tuple[float, float] | None = None,
                 window_s: float = WINDOW_S, min_share: float = MIN_SPEECH_SHARE) -> list[Window]:
    """The windows to read, in reading order.

    Parameters
    ----------
    speech : (n,) share of speech in each second of the file (:func:`speech_per_second`).
    duration_s : the file's length.
    first : media seconds (start, end) to read before the rest of the file, such as the part of it a
        timeline uses; a part no longer than four windows is read as one window.
    window_s : length of a window.
    min_share : places whose best window holds less speech are skipped.

    Returns
    -------
    list of Window
        Non-overlapping; spread over ``first`` first, then over the whole file. Each lies within
        ``window_s`` of its place where there is the most speech, on whole seconds.
    """
    cumulative = np.concatenate([[0.0], np.cumsum(speech)])
    width = round(window_s)
    last_start = max(int(np.floor(duration_s - window_s)), 0)
    chosen: list[Window] = []

    def free(start: int) -> bool:
        return all(start + width <= w.start_s or start >= w.end_s for w in chosen)

    def add(place: float, reach: float) -> None:
        lo, hi = max(int(np.floor(place - reach)), 0), min(int(np.ceil(place + reach)), last_start)
        starts = [s for s in range(lo, hi + 1) if free(s)]
        if not starts:
            return
        shares = np.array([(cumulative[min(s + width, speech.size)] - cumulative[min(s, speech.size)]) / width
                           for s in starts])
        best = np.flatnonzero(shares >= shares.max() - 1e-9)
        start = starts[int(best[np.argmin([abs(starts[b] - place) for b in best])])]
        if shares.max() >= min_share:
            chosen.append(Window(float(start), float(min(start + width, duration_s))))

    if first is not None:
        lo, hi = max(first[0], 0.0), min(first[1], duration_s)
        if hi - lo <= 4 * window_s:
            chosen.append(Window(lo, hi))
        else:
            for place, reach in _places(lo, hi - window_s):
                add(place, min(reach, window_s))
    for place, reach in _places(0.0, float(last_start)):
        add(place, min(reach, window_s))
    # A file without speech still gets its start read, so the estimate can say why it cannot answer.
    return chosen or [Window(0.0, float(min(window_s, duration_s)))]


def sure_enough(result: SyncResult, windows: Sequence[Window], span: tuple[float, float], fps: float) -> bool:
    """Whether the windows read so far answer for ``span`` (media seconds: the whole file, or the part of it
    a timeline uses).

    The answer must be given (not inconclusive). Once every second of the span is read, that is all; until
    then, the drift it reports must be pinned down over the span: no drift in its 95 % interval may move the
    offset anywhere in the span by more than :data:`DRIFT_FRAMES` frames from where the reported line puts
    it, nor lie more than :data:`DRIFT_MS_PER_MIN` from it (so a drift the estimate declined to report while
    its interval excludes none, as when the halves of few windows disagree, keeps reading). A line with
    another drift is fitted through the same windows, so it pivots about their middle (:func:`pivot_s`), where
    the offset is measured, and moves the offset most at the end of the span farthest from there. Every splice
    must lie between windows no more than :data:`SPLICE_GAP_S` apart, so the correction can be cut near
    where the offset jumps.
    """
    if result.verdict == "inconclusive":
        return False
    if sum(w.duration_s for w in gaps(windows, span)) < 1.0:
        return True  # all of the span is read: the rest of the file would not tell more about it
    interval = result.opinions.get("drift_interval_ms_per_min")
    if interval is None:
        return False
    drift = result.drift_ms_per_min or 0.0
    error_ms_per_min = max(abs(interval[0] - drift), abs(interval[1] - drift))
    pivot = pivot_s(windows)
    end_error_ms = error_ms_per_min * max(abs(span[1] - pivot), abs(pivot - span[0])) / 60.0
    if end_error_ms > DRIFT_FRAMES * 1000.0 / fps or error_ms_per_min > DRIFT_MS_PER_MIN:
        return False
    starts = sorted(w.start_s for w in windows)
    ends = sorted(w.end_s for w in windows)
    for splice in result.splices:
        before = max((e for e in ends if e <= splice["time_s"]), default=span[0])
        after = min((s for s in starts if s >= splice["time_s"]), default=span[1])
        if after - before > SPLICE_GAP_S:
            return False
    return True


def pivot_s(windows: Sequence[Window]) -> float:
    """The media time a line through the windows' offsets turns about when its drift changes: the middle of
    the windows read, each counted by its length (as the offset is measured from every second of them)."""
    lengths = np.array([w.duration_s for w in windows])
    centres = np.array([(w.start_s + w.end_s) / 2 for w in windows])
    return float(np.average(centres, weights=lengths)) if lengths.sum() > 0 else float(centres.mean())


def gaps(windows: Sequence[Window], span: tuple[float, float], window_s: float = WINDOW_S) -> list[Window]:
    """The stretches of ``span`` no window covers, longest first, each cut into equal windows no longer than
    ``window_s``; stretches shorter than a millisecond are left."""
    holes, reached = [], span[0]
    for w in sorted(windows, key=lambda w: w.start_s):
        if w.start_s > reached:
            holes.append((reached, min(w.start_s, span[1])))
        reached = max(reached, w.end_s)
    holes.append((reached, span[1]))
    holes = sorted(((a, b) for a, b in holes if b - a >= 1e-3), key=lambda h: h[0] - h[1])
    pieces = []
    for a, b in holes:
        edges = np.linspace(a, b, int(np.ceil((b - a) / window_s - 1e-9)) + 1)
        pieces += [Window(float(lo), float(hi)) for lo, hi in itertools.pairwise(edges)]
    return pieces


def join_excerpts(read: Sequence[tuple[Window, Excerpt]]) -> list[tuple[Window, Excerpt]]:
    """One face's windows and excerpts in time order, those of windows that meet joined into one; the
    others are passed on as they are, so what they measured once stays with them.

    A window's audio reaches beyond it, so the audio of windows that meet overlaps: the joined excerpt's
    audio is the earlier one's followed by the later one's samples past its end (both are cut from the same
    track, sample for sample).
    """
    joined: list[tuple[Window, Excerpt]] = []
    for window, excerpt in sorted(read, key=lambda r: r[0].start_s):
        if not joined or abs(window.start_s - joined[-1][0].end_s) > 1e-6:
            joined.append((window, excerpt))
            continue
        before_window, before = joined.pop()
        audio = before.audio
        skip = round((audio.start_s + audio.duration_s - excerpt.audio.start_s) * audio.rate)
        samples = np.concatenate([audio.samples, excerpt.audio.samples[min(max(skip, 0), excerpt.audio.samples.size):]])
        joined.append((Window(before_window.start_s, window.end_s),
                       Excerpt(concatenate_tracks([before.face, excerpt.face]), replace(audio, samples=samples))))
    return joined


def measure_progressively(plan: Sequence[Window],
                          read: Callable[[Window, ProgressFn], tuple[Window, list[Excerpt]]],
                          estimate: Callable[[list[list[Excerpt]]], tuple[SyncResult, int]], *,
                          span: tuple[float, float], fps: float, progress: ProgressFn = no_progress
                          ) -> ProgressiveResult:
    """Read the planned windows in turn until the estimate is sure enough for ``span`` (:func:`sure_enough`);
    when the plan is used up first, read the gaps the windows left in ``span`` (:func:`gaps`) as well.

    Parameters
    ----------
    plan : the windows, in reading order (:func:`plan_windows`).
    read : the window actually read (a reader may move it, as onto a key frame) and its excerpts, one per face
        tracked (the same faces, in the same order, every time); told how reading the window goes.
    estimate : the result over every face's excerpts so far (in time order, windows that meet joined), and the
        chosen face's index.
    span : media seconds (start, end) the answer is for: the whole file, or the part a timeline uses. The
        first estimate waits for :data:`FIRST_WINDOWS` windows, or for the windows of the part planned first
        when fewer, so that a part is answered for on its own.
    fps : the file's frame rate.
    progress : told the share of the planned windows and of the gaps between them read, and what the
        current window is doing.
    """
    inside = itertools.takewhile(lambda w: span[0] <= w.start_s and w.end_s <= span[1], plan)
    first = min(FIRST_WINDOWS, sum(1 for _ in inside))
    total = len(plan) + len(gaps(plan, span))
    faces: list[list[tuple[Window, Excerpt]]] = []
    done: list[Window] = []
    outcome: tuple[SyncResult, int] = (SyncResult.inconclusive("nothing was read"), 0)

    def windows() -> Iterator[Window]:
        yield from plan
        yield from gaps(done, span)

    for k, window in enumerate(windows()):
        share = min(k / total, 1.0), min((k + 1) / total, 1.0)
        part = progress_part(progress, *share)
        label = f"window {k + 1} of {max(total, k + 1)} at {window.start_s:.0f} s"
        actual, excerpts = read(window, lambda fraction, stage, label=label, part=part:
                                part(fraction, f"{label}: {stage}"))
        faces = [join_excerpts([*(faces[i] if faces else []), (actual, excerpt)])
                 for i, excerpt in enumerate(excerpts)]
        done.append(actual)
        if len(done) < first and k + 1 < len(plan):
            continue
        progress(share[1], f"{label}: estimating")
        outcome = estimate([[e for _, e in face] for face in faces])
        if sure_enough(outcome[0], done, span, fps):
            break
    chosen = [e for _, e in faces[outcome[1]]] if faces else []
    return ProgressiveResult(outcome[0], outcome[1], chosen, done)


def replayed_windows(faces: list[FaceTrack], audio: AudioTrack, reach_s: float
                     ) -> Callable[[Window, ProgressFn], tuple[Window, list[Excerpt]]]:
    """A reader of windows out of a clip already measured frame by frame (``faces``, ``audio``), for replaying
    progressive reading where the tracks are at hand (the estimator benchmark); each window's audio reaches
    ``reach_s`` beyond it either side."""
    def read(window: Window, progress: ProgressFn = no_progress) -> tuple[Window, list[Excerpt]]:
        around = audio.between(window.start_s - reach_s, window.end_s + reach_s)
        return window, [Excerpt(face.between(window.start_s, window.end_s), around) for face in faces]

    return read
