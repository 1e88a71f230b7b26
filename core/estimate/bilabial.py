"""A second, physically anchored opinion: lips parting on /p/, /b/ and /m/ against the bursts they make.

The lips close completely for a bilabial consonant; the sound stops at the closure and bursts at the
instant they part. So the time between a release in the picture and the burst in the sound is the
offset, event by event, whatever the shape of the speech envelope. Only releases in running speech
count: at the start of a phrase the lips open 80 to 230 ms before the voice (anticipation), and those
events would pull the reading towards "audio late". Measured on the corpus, this opinion agrees with
the correlation within about 20 ms wherever it is firm (../shared/docs/corpus-observations.md), and a
clip needs about ten such events (10 to 15 s of frontal speech) for a firm opinion.

The same events are the clearest moments for an editor to check by eye (:func:`sync_moments`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import signal

__all__ = ["BILABIAL_AGREE_MS", "MIN_FIRM_EVENTS", "BilabialOpinion", "LipEvents", "LipReleases", "SoundBursts",
           "bilabial_opinion", "lip_releases", "sound_bursts", "sync_moments"]

# A closure: the inner-lip gap in the bottom CLOSED_SHARE of its 2nd to 95th percentile range for at
# least CLOSED_FRAMES frames. The release is where the gap has risen RELEASE_SHARE of the way to the
# next peak (within PEAK_REACH_S); a rise under MIN_RISE_SHARE of the range is not an opening.
CLOSED_SHARE = 0.25
CLOSED_FRAMES = 2
RELEASE_SHARE = 0.25
PEAK_REACH_S = 0.3
MIN_RISE_SHARE = 0.3
# A burst: the 500 Hz to 8 kHz level over the previous 40 ms at least BURST_RISE_DB below the next
# 20 ms, and the next 20 ms at least BURST_ABOVE_FLOOR_DB above the recording's floor.
BURST_RISE_DB = 12.0
BURST_ABOVE_FLOOR_DB = 15.0
# Mid-speech: no pause longer than PAUSE_S within MID_SPEECH_REACH_S of the event.
PAUSE_S = 0.25
MID_SPEECH_REACH_S = 0.35
# A release is matched to the burst nearest the expected lag, within MATCH_REACH_MS of it.
MATCH_REACH_MS = 80.0
# A firm opinion: at least MIN_FIRM_EVENTS matched releases, with the 95 % interval of their median
# no wider than FIRM_INTERVAL_MS. It agrees with a correlation answer within BILABIAL_AGREE_MS: the
# release convention alone moves every reading by about 20 ms (10 % or 50 % instead of 25 %).
MIN_FIRM_EVENTS = 10
FIRM_INTERVAL_MS = 60.0
BILABIAL_AGREE_MS = 60.0
# The 1 ms level track's step, and the percentile of it taken as the recording's floor: low enough that
# running speech with only brief closures (a news presenter) still has its floor below the voice.
LEVEL_STEP_S = 0.001
FLOOR_PERCENTILE = 5


@dataclass(frozen=True)
class LipReleases:
    """Moments the lips part after a closure: media times (s) and how far they open (eye distances)."""

    time_s: np.ndarray
    opening: np.ndarray

    def between(self, start_s: float, end_s: float) -> LipReleases:
        """The releases at ``start_s <= time < end_s``."""
        inside = (self.time_s >= start_s) & (self.time_s < end_s)
        return LipReleases(self.time_s[inside], self.opening[inside])


@dataclass(frozen=True)
class SoundBursts:
    """Sudden onsets of 500 Hz to 8 kHz sound: media times (s), their rise (dB), and the 1 ms level track."""

    time_s: np.ndarray
    rise_db: np.ndarray
    level_db: np.ndarray
    start_s: float

    def mid_speech(self, times: np.ndarray) -> np.ndarray:
        """Which ``times`` lie in running speech: no pause over ``PAUSE_S`` within ``MID_SPEECH_REACH_S``."""
        reach = int(MID_SPEECH_REACH_S / LEVEL_STEP_S)
        centre = np.round((np.asarray(times, float) - self.start_s) / LEVEL_STEP_S).astype(int)
        lo, hi = centre - reach, centre + reach
        inside = (lo >= 0) & (hi <= self.level_db.size)
        paused = self._pause_steps_before
        return inside & (paused[np.clip(hi, 0, self.level_db.size)] == paused[np.clip(lo, 0, self.level_db.size)])

    # Judged once per stretch of sound: every window of a long file asks again about the releases in it.
    @functools.cached_property
    def _pause_steps_before(self) -> np.ndarray:
        """(level steps + 1,) how many steps before each step of the level track lie in a pause over ``PAUSE_S``."""
        floor = np.percentile(self.level_db, FLOOR_PERCENTILE) if self.level_db.size else 0.0
        silent = self.level_db <= floor + BURST_ABOVE_FLOOR_DB
        edges = np.diff(np.concatenate(([0], silent.astype(np.int8), [0])))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        long_pause = np.zeros(silent.size, bool)
        for a, b in zip(starts, ends, strict=True):
            if b - a > int(PAUSE_S / LEVEL_STEP_S):
                long_pause[a:b] = True
        return np.concatenate([[0], np.cumsum(long_pause)])


@dataclass(frozen=True)
class LipEvents:
    """The lips' releases and the sound's bursts over one stretch of the clip (an excerpt, or the whole clip).

    Stretches are kept apart because whether a release lies in running speech is judged on its own
    stretch's sound level.
    """

    releases: LipReleases
    bursts: SoundBursts

    def between(self, start_s: float, end_s: float) -> LipEvents:
        """The same stretch with only the releases at ``start_s <= time < end_s``."""
        return LipEvents(self.releases.between(start_s, end_s), self.bursts)


@dataclass(frozen=True)
class BilabialOpinion:
    """The offset the matched releases and bursts show.

    ``offset_ms`` is the median of (burst - release) over matched events, with its 95 % bootstrap
    interval (``low_ms``, ``high_ms``); ``events`` counts matched releases, ``releases`` all mid-speech
    releases looked at.
    """

    offset_ms: float
    low_ms: float
    high_ms: float
    events: int
    releases: int

    @property
    def firm(self) -> bool:
        return self.events >= MIN_FIRM_EVENTS and self.high_ms - self.low_ms <= FIRM_INTERVAL_MS

    @property
    def matched_share(self) -> float:
        """The share of mid-speech releases with a burst near the lag looked at."""
        return self.events / self.releases if self.releases else 0.0

    def agrees_with(self, offset_ms: float) -> bool:
        return abs(self.offset_ms - offset_ms) <= BILABIAL_AGREE_MS


def lip_releases(time_s: np.ndarray, gap: np.ndarray) -> LipReleases:
    """Where the lips part after a closure, from the inner-lip gap per frame.

    Parameters
    ----------
    time_s : (n,) presentation time of each frame.
    gap : (n,) inner-lip gap in eye distances, NaN where no face was found.
    """
    ok = np.isfinite(gap)
    if ok.sum() < 10:
        return LipReleases(np.zeros(0), np.zeros(0))
    lo, hi = np.percentile(gap[ok], [2, 95])
    closed = ok & (gap <= lo + CLOSED_SHARE * (hi - lo))
    edges = np.diff(np.concatenate(([0], closed.astype(np.int8), [0])))
    runs = zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True)
    times, openings = [], []
    for first, stop in runs:
        last = stop - 1  # the last closed frame
        reach = np.flatnonzero((time_s > time_s[last]) & (time_s <= time_s[last] + PEAK_REACH_S))
        if stop - first < CLOSED_FRAMES or reach.size == 0 or not np.all(np.isfinite(gap[reach])):
            continue
        peak = int(reach[np.argmax(gap[reach])])
        rise = gap[peak] - gap[last]
        if rise <= MIN_RISE_SHARE * (hi - lo):
            continue
        level = gap[last] + RELEASE_SHARE * rise
        m = last
        while m < peak and gap[m + 1] < level:
            m += 1
        share = (level - gap[m]) / max(gap[m + 1] - gap[m], 1e-9)
        times.append(time_s[m] + share * (time_s[m + 1] - time_s[m]))
        openings.append(rise)
    return LipReleases(np.asarray(times, float), np.asarray(openings, float))


def sound_bursts(samples: np.ndarray, rate: int, start_s: float) -> SoundBursts:
    """Sudden onsets of 500 Hz to 8 kHz sound in mono ``samples`` whose first sample plays at ``start_s``.

    The level is measured every millisecond; a burst is where the previous 40 ms sit at least
    ``BURST_RISE_DB`` below the next 20 ms (taken at the steepest point of each such rise).
    """
    top = min(8000.0, 0.45 * rate)
    sos = signal.butter(4, [500.0, top], btype="band", fs=rate, output="sos")
    band = signal.sosfilt(sos, samples.astype(np.float64))
    hop = max(1, int(rate * LEVEL_STEP_S))
    n = band.size // hop
    power = (band[: n * hop] ** 2).reshape(n, hop).mean(axis=1) if n else np.zeros(0)
    level_db = 10.0 * np.log10(power + 1e-12)
    if n < 80:
        return SoundBursts(np.zeros(0), np.zeros(0), level_db, start_s)
    cumulative = np.concatenate([[0.0], np.cumsum(power)])
    idx = np.arange(40, n - 20)
    before = (cumulative[idx] - cumulative[idx - 40]) / 40
    after = (cumulative[idx + 20] - cumulative[idx]) / 20
    rise = 10.0 * np.log10((after + 1e-12) / (before + 1e-12))
    floor = np.percentile(level_db, FLOOR_PERCENTILE)
    candidate = (rise >= BURST_RISE_DB) & (10.0 * np.log10(after + 1e-12) > floor + BURST_ABOVE_FLOOR_DB)
    edges = np.diff(np.concatenate(([0], candidate.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    steepest = np.array([a + int(np.argmax(rise[a:b])) for a, b in zip(starts, ends, strict=True)], dtype=int)
    if steepest.size == 0:
        return SoundBursts(np.zeros(0), np.zeros(0), level_db, start_s)
    return SoundBursts(start_s + idx[steepest] * LEVEL_STEP_S, rise[steepest], level_db, start_s)


def _matches(events: Sequence[LipEvents], around_ms: float,
             drift_ms_per_min: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Mid-speech releases matched to the burst nearest the expected lag: (release time, clarity, lag ms), and
    how many mid-speech releases were looked at.

    The expected lag at a release is ``around_ms`` plus what the drift adds by then; the lag kept is
    the event's own, with the drift taken off, so every event speaks of the offset at media time 0.
    Clarity is how wide the lips open times how sharply the sound bursts.
    """
    times, clarity, lags, looked_at = [], [], [], 0
    for stretch in events:
        releases, bursts = stretch.releases, stretch.bursts
        keep = bursts.mid_speech(releases.time_s)
        looked_at += int(keep.sum())
        for i in np.flatnonzero(keep):
            t = releases.time_s[i]
            drift_ms = drift_ms_per_min * t / 60.0
            lag = (bursts.time_s - t) * 1000.0 - drift_ms
            near = np.flatnonzero(np.abs(lag - around_ms) <= MATCH_REACH_MS)
            if near.size:
                j = int(near[np.argmin(np.abs(lag[near] - around_ms))])
                times.append(t)
                clarity.append(releases.opening[i] * bursts.rise_db[j])
                lags.append(lag[j])
    return np.asarray(times, float), np.asarray(clarity, float), np.asarray(lags, float), looked_at


def bilabial_opinion(events: Sequence[LipEvents], around_ms: float,
                     drift_ms_per_min: float = 0.0) -> BilabialOpinion | None:
    """The offset mid-speech releases and their bursts show near ``around_ms``, or None without events.

    Each release is matched to the burst nearest ``around_ms`` (within ``MATCH_REACH_MS``); the
    opinion is the median lag with a 95 % bootstrap interval (1000 resamples of the events, a fixed
    seed so the same clip always reads the same).
    """
    _, _, lags, mid = _matches(events, around_ms, drift_ms_per_min)
    if lags.size == 0:
        return None
    rng = np.random.default_rng(0)
    medians = np.median(lags[rng.integers(0, lags.size, (1000, lags.size))], axis=1)
    low, high = np.percentile(medians, [2.5, 97.5])
    return BilabialOpinion(round(float(np.median(lags)), 1), round(float(low), 1), round(float(high), 1),
                           int(lags.size), mid)


def sync_moments(events: Sequence[LipEvents], offset_ms: float, drift_ms_per_min: float = 0.0,
                 count: int = 5) -> list[dict[str, float | str]]:
    """The clearest moments to check the sync by eye: mid-speech lip releases and the bursts they make.

    Ranked by how wide the lips open times how sharply the sound bursts; each gives its media time,
    what happens there, and the offset that event alone shows (positive: audio late).
    """
    times, clarity, lags, _ = _matches(events, offset_ms, drift_ms_per_min)
    best = np.argsort(-clarity)[:count]
    return [{"time_s": round(float(times[k]), 3), "event": "lips part on a /p b m/ and the sound bursts",
             "offset_ms": round(float(lags[k]), 1)} for k in sorted(best, key=lambda k: times[k])]
