"""Measure how far the audio is from the lips: the public entry points, and how the parts work together.

1. The mouth measures and the audio bands go onto one 10 ms grid (:mod:`core.features`).
2. The cross-speaker model (:mod:`core.estimate.speaker`) turns each into one band-passed signal; their
   weighted moments per five-second block and per lag (:mod:`core.estimate.moments`) give a signed
   correlation against lag for every block and, summed, for the whole clip.
3. Each block's peak is a window estimate; a robust line through the blocks' peaks near the whole
   clip's is the drift (:mod:`core.estimate.drift`). The whole clip's curve, every block shifted by the lag the drift
   implies there, peaks at the offset (:mod:`core.estimate.peak`). A peak at the edge of the range
   widens the search, up to ±5 s.
4. Two independent readings check it: the clip's own canonical correlation (fitted to this clip
   alone) and the lips' releases against the bursts they make (:mod:`core.estimate.bilabial`).
5. The evidence becomes a calibrated probability of being within one frame
   (:mod:`core.estimate.confidence`); below the calibrated threshold, or where the lip releases
   firmly disagree, the answer is withheld with the reason in words.

With several faces in view, :func:`estimate_faces` measures each and keeps the one whose mouth
matches the sound.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from itertools import pairwise

import numpy as np

from core.decode import AudioTrack
from core.estimate.bilabial import (
    BilabialOpinion,
    LipEvents,
    bilabial_opinion,
    lip_releases,
    sound_bursts,
    sync_moments,
)
from core.estimate.confidence import Evidence
from core.estimate.correlation import excess_correlation, projected_correlation
from core.estimate.drift import anchored_offsets, find_splices, fit_drift
from core.estimate.fitted import FittedModel, load_fitted_model
from core.estimate.moments import (
    STEP_MS,
    LagMoments,
    block_moments,
    combined_moments,
    drift_shift_steps,
    iter_block_moments,
    join_moments,
    shift_lags,
    steps_within,
)
from core.estimate.peak import Peak, find_peak
from core.estimate.speaker import usable_steps
from core.face import FaceTrack, concatenate_tracks
from core.features import GRID_RATE, AudioFeatures, audio_features, mouth_features
from core.model import SyncResult, SyncWindow
from core.tolerance import PRESETS, Tolerance

__all__ = ["AGREE_MS", "MAX_SEARCH_MS", "MIN_SEARCH_MS", "STRETCH_S", "WIDER_SEARCH_MS", "EstimatorSettings",
           "Excerpt", "Measurement", "SyncInputs", "choose_face", "estimate_excerpts", "estimate_faces",
           "estimate_sync", "stretches_disagree"]

MAX_SEARCH_MS = 5000.0
MIN_SEARCH_MS = 100.0
# A peak at the edge of the search range is looked for again over these wider ranges, in turn.
WIDER_SEARCH_MS = (2500.0, MAX_SEARCH_MS)
# Two readings agree on the lag within this many ms (one frame at 25 fps).
AGREE_MS = 40.0
# Lags beyond the search range kept in the moments, so a peak at the edge is still seen as an edge.
MARGIN_STEPS = 20
# The (dis)agreement evidence reads stretches this long on their own (half a block): a 5 s clip has two, and each
# holds a few syllables, enough for a peak of its own.
STRETCH_S = 2.5
# Under this many seconds of speech with the face in view, a withheld answer is put down to length.
SHORT_S = 4.0
# Lips whose inner gap spans less than this (eye distances, 5th to 95th percentile) never open or close:
# about a pixel at common face sizes, below what the landmarks resolve.
STILL_LIPS = 0.02
# The clip's own canonical correlation reads these mouth measures (columns of core.face.MOUTH_FEATURES:
# inner and outer aperture, inner-lip area, jaw drop) and the velocities of the first and third.
OWN_LEVELS = (0, 1, 4, 5)
OWN_VELOCITIES = (0, 4)
# ... and the audio bands pooled in threes into eight: its moments hold every pair of bands at every lag,
# which for 24 bands made it the slowest step of a widened search; its lag is what is read, and pooling
# to 8 or using 10 bands of its own gave the same agreement with the cross-speaker model.
OWN_BAND_POOL = 3


@dataclass(frozen=True)
class EstimatorSettings:
    """How the estimator searches and judges.

    Attributes
    ----------
    search_ms : largest offset looked for first, either way (100 to 5000 ms); a peak at its edge
        widens the search up to ``MAX_SEARCH_MS``.
    tolerance : what counts as in sync (see :mod:`core.tolerance`).
    block_s : length of the blocks whose estimates are reported as windows, in seconds.
    max_drift_ms_per_min : largest drift looked for, either way.
    """

    search_ms: float = 1000.0
    tolerance: Tolerance = field(default_factory=lambda: PRESETS["broadcast"])
    block_s: float = 5.0
    max_drift_ms_per_min: float = 150.0

    def __post_init__(self) -> None:
        if not MIN_SEARCH_MS <= self.search_ms <= MAX_SEARCH_MS:
            raise ValueError(
                f"search range must be {MIN_SEARCH_MS:.0f} to {MAX_SEARCH_MS:.0f} ms, not {self.search_ms:g}")
        if self.block_s < 1.0:
            raise ValueError("block_s must be at least 1 s")

    def search_ranges(self) -> list[float]:
        """The search ranges tried in turn, in ms."""
        return [self.search_ms, *(wider for wider in WIDER_SEARCH_MS if wider > self.search_ms)]


@dataclass(frozen=True)
class Excerpt:
    """A stretch of a clip measured on its own: the face over it and the audio around it.

    A whole clip is one excerpt. Progressive analysis (:mod:`core.progressive`) measures a long file
    as excerpts spread over it; their blocks carry their media times, so drift and splices are seen
    across them. The audio should reach beyond the face by the widest search, where the clip allows.
    """

    face: FaceTrack
    audio: AudioTrack

    # Measured once per excerpt, however often it is estimated again (progressive reading re-estimates
    # after every window); cached_property writes past the frozen dataclass's __setattr__.
    @functools.cached_property
    def features(self) -> AudioFeatures:
        """The audio's features."""
        return audio_features(self.audio)

    @functools.cached_property
    def events(self) -> LipEvents:
        """The lips' releases and the sound's bursts."""
        return LipEvents(lip_releases(self.face.time_s, self.face.mouth[:, 0]),
                         sound_bursts(self.audio.samples, self.audio.rate, self.audio.start_s))


def estimate_sync(face: FaceTrack, audio: AudioTrack, *, fps: float, settings: EstimatorSettings,
                  model: FittedModel | None = None) -> SyncResult:
    """Measure offset and drift of ``audio`` against the lips in ``face``.

    Parameters
    ----------
    face : FaceTrack, per-frame mouth measures with presentation times.
    audio : AudioTrack, mono audio on the same media timeline.
    fps : float, the clip's frame rate (for offsets in frames and the one-frame tolerance).
    settings : EstimatorSettings
    model : FittedModel or None, the fitted cross-speaker model and calibration (default: the shipped one).

    Returns
    -------
    SyncResult
        ``offset_ms`` at media time 0 (positive: audio late), ``drift_ms_per_min`` (positive: audio
        falls further behind), windows, the probability of being within one frame as confidence, the
        verdict, the clearest moments to check by eye, and what each independent reading said.
    """
    return SyncInputs([Excerpt(face, audio)], fps, settings).estimate(model or load_fitted_model())


def estimate_faces(faces: list[FaceTrack], audio: AudioTrack, *, fps: float, settings: EstimatorSettings,
                   model: FittedModel | None = None) -> tuple[SyncResult, int]:
    """Measure every face against the sound and keep the one whose mouth matches it best.

    Returns the chosen face's result, which says which face (its box) and why, and its index.
    """
    return estimate_excerpts([[Excerpt(face, audio)] for face in faces], fps=fps, settings=settings, model=model)


def estimate_excerpts(faces: list[list[Excerpt]], *, fps: float, settings: EstimatorSettings,
                      model: FittedModel | None = None) -> tuple[SyncResult, int]:
    """:func:`estimate_faces` for clips measured in excerpts: ``faces[k]`` holds face ``k``'s excerpts."""
    model = model or load_fitted_model()
    inputs = [SyncInputs(excerpts, fps, settings) for excerpts in faces]
    return choose_face([i.estimate(model) for i in inputs], [i.face for i in inputs])


def choose_face(results: list[SyncResult], faces: list[FaceTrack]) -> tuple[SyncResult, int]:
    """The result of the face measured with the highest confidence, saying why, and its index."""
    best = max(range(len(results)), key=lambda k: results[k].confidence)
    if len(results) == 1:
        return results[0], 0
    others = ", ".join(f"{results[k].confidence:.2f}" for k in range(len(results)) if k != best)
    why = (f"of {len(results)} faces in view, this one's mouth matches the sound best "
           f"(confidence {results[best].confidence:.2f}, against {others} for the other"
           f"{'s' if len(results) > 2 else ''})")
    return replace(results[best], face={"box": faces[best].typical_box(), "faces": len(faces), "why": why}), best


class SyncInputs:
    """One face's excerpts (one for a whole clip), with everything measured from them that no fitted number
    changes.

    The features, the streams of each search range, the clip's own canonical correlation (for each
    drift asked about) and the lip releases and sound bursts are computed once, when first needed, so
    the same inputs can be measured with several fitted models (as cross-validation does) at the cost
    of the model's own steps only.
    """

    def __init__(self, excerpts: list[Excerpt], fps: float, settings: EstimatorSettings) -> None:
        self.excerpts = sorted(excerpts, key=lambda e: e.audio.start_s)
        self.fps, self.settings = fps, settings
        self._streams: dict[float, list[Streams]] = {}
        self._own: dict[tuple[float, float], tuple[list[float | None], np.ndarray]] = {}

    @functools.cached_property
    def face(self) -> FaceTrack:
        """The face over every excerpt, as one track."""
        return concatenate_tracks([e.face for e in self.excerpts])

    @property
    def features(self) -> list[AudioFeatures]:
        """Each excerpt's audio features."""
        return [e.features for e in self.excerpts]

    @property
    def events(self) -> list[LipEvents]:
        """Each excerpt's lip releases and sound bursts."""
        return [e.events for e in self.excerpts]

    def streams(self, search_ms: float) -> list[Streams]:
        """Both streams of every excerpt with a second of face and speech, prepared for a search of ``±search_ms``."""
        if search_ms not in self._streams:
            prepared = (prepare_streams(e.face, features, steps_within(search_ms) + MARGIN_STEPS,
                                        int(self.settings.block_s * GRID_RATE))
                        for e, features in zip(self.excerpts, self.features, strict=True))
            self._streams[search_ms] = [s for s in prepared if s is not None]
        return self._streams[search_ms]

    def own_correlation(self, search_ms: float, drift_ms_per_min: float) -> tuple[list[float | None], np.ndarray]:
        """:func:`own_correlation` of the streams for ``search_ms``, summed with ``drift_ms_per_min``."""
        key = (search_ms, round(drift_ms_per_min, 6))
        if key not in self._own:
            self._own[key] = own_correlation(self.streams(search_ms), drift_ms_per_min,
                                             steps_within(search_ms))
        return self._own[key]

    def measurement(self, model: FittedModel) -> Measurement | None:
        """What ``model`` measures: over the first search range that gives a confident answer, or else
        the most confident of them all; None without a face, or without a second of speech in view.

        A true offset beyond the range shows as a peak at its edge, or as a weak peak inside it where
        chance won; either way the answer is not confident, so the search widens (up to
        ``MAX_SEARCH_MS``). Wider ranges give chance more lags to win on, which the calibration weighs.
        """
        if not self.face.found.any():
            return None
        best, best_confidence = None, -1.0
        for search_ms in self.settings.search_ranges():
            if not self.streams(search_ms):
                return None
            measurement = measure(self, model, search_ms)
            confidence = measurement.confidence(model)
            if confidence > best_confidence:
                best, best_confidence = measurement, confidence
            if confidence >= model.calibration.threshold:
                break
        return best

    def estimate(self, model: FittedModel) -> SyncResult:
        """The measurement with ``model`` and its verdict."""
        measurement = self.measurement(model)
        if measurement is None:
            reason = "too little speech while the face is visible" if self.face.found.any() \
                else "no face found in the picture"
            return SyncResult.inconclusive(reason, tolerance=self.settings.tolerance.name)
        return judge(measurement, self, model)


@dataclass(frozen=True)
class Streams:
    """Both streams on the grid, standardised; audio padded by ``max_lag`` steps each side.

    ``mouth`` and ``audio`` hold every mouth measure and band (for the cross-speaker model),
    ``own_mouth`` and ``own_audio`` the few the clip's own canonical correlation reads.
    """

    mouth: np.ndarray
    own_mouth: np.ndarray
    mouth_weight: np.ndarray
    audio: np.ndarray
    own_audio: np.ndarray
    audio_weight: np.ndarray
    max_lag: int
    grid_start_s: float
    block_len: int


def prepare_streams(face: FaceTrack, features: AudioFeatures, max_lag: int, block_len: int) -> Streams | None:
    """Features of both streams on the shared grid, or None without a second of face and speech."""
    t = face.time_s[face.found]
    first = int(np.ceil((t[0] - features.start_s) * GRID_RATE))
    last = int(np.floor((t[-1] - features.start_s) * GRID_RATE))
    if last - first < GRID_RATE:
        return None
    grid_start_s = features.start_s + first / GRID_RATE
    mf = mouth_features(face, grid_start_s, last - first + 1)
    n_audio = features.values.shape[0]
    index = np.arange(first - max_lag, last + 1 + max_lag)
    inside = (index >= 0) & (index < n_audio)
    clipped = np.clip(index, 0, n_audio - 1)
    audio_weight = np.where(inside, features.speech[clipped], 0.0)
    if (audio_weight > 0).sum() < GRID_RATE or mf.valid.sum() < GRID_RATE:
        return None
    audio = _standardise(np.where(inside[:, None], features.values[clipped], 0.0), audio_weight > 0)
    velocity = np.gradient(mf.values[:, list(OWN_VELOCITIES)], axis=0) * GRID_RATE
    own = _standardise(np.column_stack([mf.values[:, list(OWN_LEVELS)], velocity]), mf.valid)
    pooled = audio.reshape(audio.shape[0], -1, OWN_BAND_POOL).mean(axis=2)
    return Streams(_standardise(mf.values, mf.valid), own, mf.valid.astype(float), audio,
                   _standardise(pooled, audio_weight > 0), audio_weight, max_lag, grid_start_s, block_len)


def _standardise(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    if not mask.any():
        return np.zeros_like(x)
    mean = x[mask].mean(axis=0)
    std = x[mask].std(axis=0) + 1e-9
    return np.where(mask[:, None], (x - mean) / std, 0.0)


@dataclass(frozen=True)
class Measurement:
    """What one search range showed, before the verdict.

    ``peak`` is the whole clip's (None without any correlation in range); ``evidence`` its evidence;
    ``own_lag_ms`` where the clip's own canonical correlation peaks (None if nowhere inside);
    ``bilabial`` what the lip releases show near the peak; ``drift_interval`` the 95 % interval of the drift
    (ms/min), None where the clip is too short for one.
    """

    search_ms: float
    peak: Peak | None
    drift_ms_per_min: float
    windows: list[SyncWindow]
    evidence: Evidence | None
    own_lag_ms: float | None
    bilabial: BilabialOpinion | None
    duration_s: float
    drift_interval: tuple[float, float] | None

    def confidence(self, model: FittedModel) -> float:
        """The calibrated confidence of the peak (0 for none, or one at the edge of the range)."""
        if self.peak is None or not self.peak.interior or self.evidence is None:
            return 0.0
        return model.calibration.confidence(self.evidence)


def measure(inputs: SyncInputs, model: FittedModel, search_ms: float) -> Measurement:
    """Windows, drift, the offset's peak and its evidence over ``±search_ms``."""
    search_steps = steps_within(search_ms)
    streams = inputs.streams(search_ms)
    signals = [(model.speaker.mouth_signal(s.mouth)[:, None], usable_steps(s.mouth_weight),
                model.speaker.sound_signal(s.audio)[:, None], s.audio_weight) for s in streams]

    def cut_into(block_len: int) -> LagMoments:
        return join_moments([block_moments(*signal, s.max_lag, block_len, s.grid_start_s)
                             for signal, s in zip(signals, streams, strict=True)])

    moments, stretches = cut_into(streams[0].block_len), cut_into(round(STRETCH_S * GRID_RATE))
    curves = projected_correlation(moments.first, moments.video, moments.audio)  # (blocks, lags)
    block_peaks = [find_peak(curve, moments.lags, search_steps) for curve in curves]
    still = combined_moments(moments, 0.0)
    anchor = find_peak(projected_correlation(*still), moments.lags, search_steps)
    max_drift = inputs.settings.max_drift_ms_per_min
    drift, drift_interval = (0.0, None) if anchor is None else fit_drift(
        anchored_offsets(curves, moments.lags, moments.block_span_s, anchor.lag_ms, inputs.fps, max_drift),
        inputs.fps, max_drift)
    own_block_lags, own_curve = inputs.own_correlation(search_ms, drift)
    windows = [_window(inputs, moments, b, peak, own_block_lags[b], model, search_ms, drift, stretches)
               for b, peak in enumerate(block_peaks)]
    whole = still if drift == 0.0 else combined_moments(moments, drift)
    peak = find_peak(projected_correlation(*whole), moments.lags, search_steps)
    own = find_peak(own_curve, moments.lags, search_steps)
    own_lag = own.lag_ms if own is not None and own.interior else None
    if peak is None:
        return Measurement(search_ms, None, drift, windows, None, own_lag, None, float(moments.block_span_s[-1, 1]),
                           drift_interval)
    bilabial = bilabial_opinion(inputs.events, peak.lag_ms, drift)
    evidence = _evidence(peak, whole[0][peak.index, 0, 0], own_lag, bilabial, search_ms,
                         stretches_disagree(stretches, drift, search_steps))
    return Measurement(search_ms, peak, drift, windows, evidence, own_lag, bilabial,
                       float(moments.block_span_s[-1, 1]), drift_interval)


def own_correlation(streams: list[Streams], drift_ms_per_min: float, search_steps: int
                    ) -> tuple[list[float | None], np.ndarray]:
    """The clip's own canonical correlation: each block's best lag (blocks in time order), and the whole
    clip's curve.

    Blocks are read one at a time and summed, each shifted by ``drift_ms_per_min``, so memory stays
    flat however long the clip.
    """
    lags = np.arange(-streams[0].max_lag, streams[0].max_lag + 1)
    totals: list[np.ndarray] | None = None
    block_lags: list[float | None] = []
    blocks = (block for s in sorted(streams, key=lambda s: s.grid_start_s) for block in iter_block_moments(
        s.own_mouth, s.mouth_weight, s.own_audio, s.audio_weight, s.max_lag, s.block_len, s.grid_start_s))
    for block in blocks:
        peak = find_peak(excess_correlation(block.first, block.video, block.audio), lags, search_steps)
        block_lags.append(peak.lag_ms if peak is not None and peak.interior else None)
        shift = drift_shift_steps(drift_ms_per_min, block.centre_s)
        shifted = [shift_lags(m, shift) for m in (block.first, block.video, block.audio)]
        totals = shifted if totals is None else [t + s for t, s in zip(totals, shifted, strict=True)]
    return block_lags, excess_correlation(*totals)


def stretches_disagree(stretches: LagMoments, drift_ms_per_min: float, search_steps: int,
                       span_s: tuple[float, float] = (-np.inf, np.inf)) -> float:
    """The share of the stretches in ``span_s`` (weighted by their speech) whose own peak lies more than
    ``AGREE_MS`` from the peak of the others in it, both at media time 0 under ``drift_ms_per_min``.

    Each stretch is set against the rest, not against the whole, so that it is not compared with itself:
    genuine audio shows one offset in every stretch; chance peaks of other audio fall anywhere. 0 when the
    span holds a single stretch, which has nothing to disagree with.
    """
    chosen = np.flatnonzero((stretches.block_time_s >= span_s[0]) & (stretches.block_time_s < span_s[1]))
    if chosen.size < 2:
        return 0.0
    whole = combined_moments(stretches, drift_ms_per_min, chosen)
    disagree, speech = [], []
    for b in chosen:
        shift = drift_shift_steps(drift_ms_per_min, stretches.block_time_s[b])
        own = find_peak(projected_correlation(*stretches.block(b)), stretches.lags, search_steps)
        rest = find_peak(projected_correlation(*(w - shift_lags(m, shift) for w, m in
                                                 zip(whole, stretches.block(b), strict=True))),
                         stretches.lags, search_steps)
        disagree.append(not (own is not None and own.interior and rest is not None and rest.interior
                             and abs(own.lag_ms - shift * STEP_MS - rest.lag_ms) <= AGREE_MS))
        speech.append(float(stretches.first[b][:, 0, 0].max()))
    return float(np.average(disagree, weights=speech)) if sum(speech) > 0 else 0.0


def _evidence(peak: Peak, weight: float, own_lag_ms: float | None, bilabial: BilabialOpinion | None,
              search_ms: float, disagreement: float) -> Evidence:
    seconds = float(weight) / GRID_RATE
    return Evidence(peak.prominence, peak.height * np.sqrt(max(seconds, 0.0)), seconds,
                    own_lag_ms is not None and abs(own_lag_ms - peak.lag_ms) <= AGREE_MS,
                    0.0 if bilabial is None else bilabial.matched_share, search_ms, disagreement)


def _window(inputs: SyncInputs, moments: LagMoments, b: int, peak: Peak | None, own_lag_ms: float | None,
            model: FittedModel, search_ms: float, drift_ms_per_min: float, stretches: LagMoments) -> SyncWindow:
    """One block as a window: its own offset and the confidence its own evidence gives."""
    start, end = moments.block_span_s[b]
    if peak is None or not peak.interior:
        return SyncWindow(round(float(start), 3), round(float(end), 3), None, 0.0)
    bilabial = bilabial_opinion([e.between(start, end) for e in inputs.events], peak.lag_ms, drift_ms_per_min)
    disagreement = stretches_disagree(stretches, drift_ms_per_min, steps_within(search_ms), (start, end))
    evidence = _evidence(peak, moments.first[b, peak.index, 0, 0], own_lag_ms, bilabial, search_ms, disagreement)
    confidence = model.calibration.confidence(evidence)
    return SyncWindow(round(float(start), 3), round(float(end), 3), round(peak.lag_ms, 1), round(confidence, 3))


def judge(measurement: Measurement, inputs: SyncInputs, model: FittedModel) -> SyncResult:
    """The verdict: offset, drift, confidence and, when the answer is withheld, the reason in words."""
    tolerance, fps = inputs.settings.tolerance, inputs.fps
    peak, evidence, drift = measurement.peak, measurement.evidence, measurement.drift_ms_per_min
    frame_ms = 1000.0 / fps
    if peak is None or evidence is None:
        return SyncResult.inconclusive("too little speech while the face is visible", tolerance=tolerance.name)
    bilabial = measurement.bilabial
    opinions = _opinions(measurement, bilabial)
    confidence = measurement.confidence(model)
    disagree = bilabial is not None and bilabial.firm and not bilabial.agrees_with(peak.lag_ms)
    offset = round(peak.lag_ms, 1)
    common = {"windows": measurement.windows, "tolerance": tolerance.name, "opinions": opinions,
              "moments": sync_moments(inputs.events, peak.lag_ms, drift)}
    splices = find_splices(measurement.windows, frame_ms, model.calibration.threshold)
    if splices:
        return _judge_spliced(splices, measurement.windows, tolerance, fps, model.calibration.threshold, common)
    if disagree or confidence < model.calibration.threshold:
        reason = _withheld_reason(measurement, inputs.face, bilabial if disagree else None,
                                  confidence, model.calibration.threshold)
        return SyncResult("inconclusive", offset, round(offset / frame_ms, 3), round(drift, 2),
                          round(confidence, 3), reason=reason, **common)
    end_offset = offset + drift * measurement.duration_s / 60.0
    if tolerance.accepts(offset, fps) and tolerance.accepts(end_offset, fps):
        verdict = "in_sync"
    else:
        verdict = "drift" if drift != 0.0 else "offset"
    return SyncResult(verdict, offset, round(offset / frame_ms, 3), round(drift, 2), round(confidence, 3), **common)


def _judge_spliced(splices: list[dict[str, float]], windows: list[SyncWindow], tolerance: Tolerance, fps: float,
                   threshold: float, common: dict[str, object]) -> SyncResult:
    """The verdict on a clip whose offset jumps at splices: each stretch between them has its own offset.

    The whole clip's peak is split between the stretches and proves little, so each stretch is judged by
    its own windows (the median confidence of those with an offset), and the clip by its least sure
    stretch. The headline offset is the first stretch's; ``SyncResult.correction`` gives each stretch its own.
    """
    edges = [-np.inf, *(s["time_s"] for s in splices), np.inf]
    offsets = [splices[0]["offset_before_ms"], *(s["offset_after_ms"] for s in splices)]
    stretch_confidence = [float(np.median([w.confidence for w in windows if w.offset_ms is not None
                                           and lo <= w.start_s < hi] or [0.0]))
                          for lo, hi in pairwise(edges)]
    confidence = min(stretch_confidence)
    offset, frame_ms = round(float(offsets[0]), 1), 1000.0 / fps
    if confidence < threshold:
        jumps = ", ".join(f"{s['offset_before_ms']:+.0f} to {s['offset_after_ms']:+.0f} ms at {s['time_s']:.1f} s"
                          for s in splices)
        return SyncResult("inconclusive", offset, round(offset / frame_ms, 3), 0.0, round(confidence, 3),
                          reason=f"the offset changes at a splice ({jumps}) and a stretch is not sure enough",
                          splices=splices, **common)
    verdict = "in_sync" if all(tolerance.accepts(o, fps) for o in offsets) else "offset"
    return SyncResult(verdict, offset, round(offset / frame_ms, 3), 0.0, round(confidence, 3), splices=splices,
                      **common)


def _opinions(measurement: Measurement, bilabial: BilabialOpinion | None) -> dict[str, object]:
    """What each reading said, for the report."""
    opinions: dict[str, object] = {
        "search_ms": measurement.search_ms,
        "speaker_model_ms": None if measurement.peak is None else round(measurement.peak.lag_ms, 1),
        "own_correlation_ms": None if measurement.own_lag_ms is None else round(measurement.own_lag_ms, 1),
        "lip_releases_ms": None, "lip_release_events": 0, "lip_releases_firm": False,
        "drift_interval_ms_per_min": None if measurement.drift_interval is None
        else [round(v, 2) for v in measurement.drift_interval],
    }
    if measurement.evidence is not None:
        opinions["speech_s"] = round(measurement.evidence.seconds, 1)
    if bilabial is not None:
        opinions.update({"lip_releases_ms": bilabial.offset_ms, "lip_release_events": bilabial.events,
                         "lip_releases_firm": bilabial.firm})
    return opinions


def _withheld_reason(measurement: Measurement, face: FaceTrack, disagreeing: BilabialOpinion | None,
                     confidence: float, threshold: float) -> str:
    """Why an answer is withheld, in the editor's words."""
    gap = face.mouth[face.found, 0]
    if gap.size and np.subtract(*np.percentile(gap, [95, 5])) < STILL_LIPS:
        return "the lips never open or close, so there is nothing to time the sound against"
    if disagreeing is not None:
        return (f"two measurements disagree: the lips' releases against the consonant bursts put the audio at "
                f"{disagreeing.offset_ms:+.0f} ms ({disagreeing.events} events), the mouth-to-sound correlation "
                f"at {measurement.peak.lag_ms:+.0f} ms")
    if measurement.peak is not None and not measurement.peak.interior:
        return f"no clear peak within ±{measurement.search_ms / 1000:.1f} s"
    seconds = measurement.evidence.seconds if measurement.evidence is not None else 0.0
    if seconds < SHORT_S:
        return f"too short to be sure: only {seconds:.1f} s of speech with the face in view"
    if confidence >= 0.5:  # more likely right than not: say so rather than blame the audio
        return (f"not sure enough: the best reading, {measurement.peak.lag_ms:+.0f} ms, is within a frame "
                f"with {confidence:.0%} confidence; {threshold:.0%} is needed")
    return ("the audio does not match these lips clearly enough "
            "(other audio, dubbed, music over the speech, or the speaker is not in view)")
