"""Grouped cross-validation of the estimator on ../shared/corpus: the clips, the cases, and the fitting.

Shared by ``fit_estimator.py`` (fits the shipped model on every clip) and ``estimator.py`` (scores it
on held-out clips). Every fitted number (the cross-speaker model, the calibration, the threshold) is
fitted by :func:`fit_estimator` on training clips only; its calibration is fitted on evidence that
models which never saw those clips produced (inner grouped folds), so it matches what a new clip shows.

Groups are the manifest's ``speaker_group`` (GRID samples, one speaker's generated clips, Theresa May),
with the two clips of Alexandria Ocasio-Cortez joined (the manifest notes say they are one person).
"""

from __future__ import annotations

import hashlib
import json
import pickle
import sys
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from core.decode import AudioTrack, decode_audio  # noqa: E402
from core.estimate.confidence import EVIDENCE_NAMES, Calibration, choose_threshold, fit_calibration  # noqa: E402
from core.estimate.fitted import FittedModel  # noqa: E402
from core.estimate.speaker import SpeakerModel, SpeakerMoments, fit_speaker_model, speaker_moments  # noqa: E402
from core.estimate.sync import EstimatorSettings, Excerpt, Measurement, SyncInputs, prepare_streams  # noqa: E402
from core.face import FaceTrack, track_faces_in_file  # noqa: E402
from core.features import GRID_RATE  # noqa: E402
from core.probe import probe  # noqa: E402
from core.synth import offset_audio  # noqa: E402

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
DEFAULT_CACHE = Path.home() / ".cache" / "lipalign" / "benchmark"
REFERENCES = Path(__file__).with_name("reference_offsets.json")
# Shifts applied to each clip's own audio (ms, positive: later). They span the published offsets (15 and
# 25 frames) and the ±1.2 s cases exercise the widened search.
SHIFTS_MS = (-1200.0, -600.0, -400.0, -333.0, -200.0, -120.0, -40.0, -17.0, 0.0, 23.0, 80.0, 200.0, 333.0,
             440.0, 600.0, 1200.0)
# Clips the manifest gives separate groups although its notes say they show one person.
SAME_PERSON = {"videoretalking__3": "alexandria-ocasio-cortez",
               "sadtalker__WDA_AlexandriaOcasioCortez_000": "alexandria-ocasio-cortez"}
INNER_FOLDS = 4
# The share of clips handed to LipAlign that carry their own audio, for the calibration: confidence is
# the chance of being right when nine in ten clips are genuine and one in ten has someone else's sound.
GENUINE_SHARE = 0.9
# The threshold is the lowest confidence at which, on the inner folds, at most this share of other clips'
# audio is answered and at least this share of answers are right, both with 95 % certainty
# (core.estimate.confidence.THRESHOLD_CERTAINTY).
MAX_MISMATCHED_ANSWERED = 0.03
MIN_ANSWERS_RIGHT = 0.99
SETTINGS = EstimatorSettings()
# Measures evidence before any calibration exists: every answer counts as confident, so the search
# stays at its first range.
FIRST_RANGE_ONLY = Calibration(np.zeros(len(EVIDENCE_NAMES)), 0.0, 0.0)


@dataclass
class Clip:
    """One corpus clip: its faces (several when several share the picture), audio and best-known offset."""

    name: str
    category: str
    group: str
    fps: float
    faces: list[FaceTrack]
    audio: AudioTrack
    reference_ms: float | None

    @property
    def duration_s(self) -> float:
        return self.audio.samples.size / self.audio.rate

    @property
    def frame_ms(self) -> float:
        return 1000.0 / self.fps


def speaker_group(entry: dict) -> str:
    group = entry.get("speaker_group") or entry["file"]
    return SAME_PERSON.get(group, group)


def _tracking_version() -> str:
    """A hash of the code that tracks faces and decodes, so a cache never outlives the code that made it."""
    digest = hashlib.sha256()
    for name in ("core/face.py", "core/decode.py", "core/probe.py"):
        digest.update((REPO / name).read_bytes())
    return digest.hexdigest()[:12]


def load_clips(corpus: Path = DEFAULT_CORPUS, cache: Path = DEFAULT_CACHE, log: bool = True) -> list[Clip]:
    """Every corpus clip, face-tracked once and cached under ``cache`` (keyed by content and code)."""
    manifest = json.loads((corpus / "MANIFEST.json").read_text())
    references = json.loads(REFERENCES.read_text())["clips"]
    cache.mkdir(parents=True, exist_ok=True)
    version = _tracking_version()
    clips = []
    for entry in manifest:
        path = corpus / entry["file"]
        stored = cache / f"{entry['sha256'][:16]}-{version}.pickle"
        if stored.exists():
            fps, faces, audio = pickle.loads(stored.read_bytes())
        else:
            if log:
                print(f"tracking {entry['file']}", file=sys.stderr, flush=True)
            info = probe(path)
            fps = info.fps_measured or info.fps_declared or 25.0
            faces = track_faces_in_file(str(path), info.display_size, duration_s=info.duration_s,
                                        frame_count=info.frame_count)
            audio = decode_audio(path)
            stored.write_bytes(pickle.dumps((fps, faces, audio)))
        clips.append(Clip(entry["file"], entry["category"], speaker_group(entry), fps, faces, audio,
                          references[entry["file"]]["offset_ms"]))
    return clips


@dataclass
class Case:
    """A picture with a sound: its own audio shifted by ``shift_ms``, or another clip's audio (``mismatched``)."""

    picture: Clip
    sound: Clip
    shift_ms: float
    inputs: list[SyncInputs] = field(repr=False)

    @property
    def mismatched(self) -> bool:
        return self.sound is not self.picture

    @property
    def truth_ms(self) -> float | None:
        """The offset the shifted clip carries, where the clip's own is known."""
        if self.mismatched or self.picture.reference_ms is None:
            return None
        return self.picture.reference_ms + self.shift_ms


def own_audio_case(clip: Clip, shift_ms: float, drift_ms_per_min: float = 0.0) -> Case:
    samples = offset_audio(clip.audio.samples, clip.audio.rate, shift_ms, drift_ms_per_min, clip.audio.samples.size)
    audio = replace(clip.audio, samples=samples)
    return Case(clip, clip, shift_ms, [SyncInputs([Excerpt(face, audio)], clip.fps, SETTINGS) for face in clip.faces])


def other_audio_case(picture: Clip, sound: Clip) -> Case:
    """``picture`` with ``sound``'s audio from its start, cut or padded with silence to the picture's length."""
    samples = np.zeros_like(picture.audio.samples)
    n = min(samples.size, sound.audio.samples.size)
    samples[:n] = sound.audio.samples[:n]
    audio = replace(picture.audio, samples=samples)
    return Case(picture, sound, 0.0,
                [SyncInputs([Excerpt(face, audio)], picture.fps, SETTINGS) for face in picture.faces])


def true_cases(clips: Iterable[Clip], shifts: Iterable[float] = SHIFTS_MS) -> list[Case]:
    return [own_audio_case(clip, shift) for clip in clips for shift in shifts]


def mismatched_cases(pictures: Iterable[Clip], sounds: list[Clip]) -> list[Case]:
    """Each picture with the audio of every clip of another group."""
    return [other_audio_case(picture, sound) for picture in pictures for sound in sounds
            if sound.group != picture.group]


def speaker_training_moments(clip: Clip) -> SpeakerMoments | None:
    """The cross-speaker model's sums for one clip at its reference offset (single-face clips with one)."""
    if clip.reference_ms is None or len(clip.faces) != 1:
        return None
    inputs = SyncInputs([Excerpt(clip.faces[0], clip.audio)], clip.fps, SETTINGS)
    streams = prepare_streams(clip.faces[0], inputs.features[0], 0, int(SETTINGS.block_s * GRID_RATE))
    if streams is None:
        return None
    return speaker_moments(streams.mouth, streams.mouth_weight, streams.audio, streams.audio_weight,
                           round(clip.reference_ms / (1000.0 / GRID_RATE)))


def fit_speaker(clips: Iterable[Clip], moments: dict[str, SpeakerMoments | None]) -> SpeakerModel:
    """The cross-speaker model fitted on ``clips`` (their sums looked up in ``moments``)."""
    chosen = [moments[c.name] for c in clips if moments.get(c.name) is not None]
    total = chosen[0]
    for m in chosen[1:]:
        total = total + m
    return fit_speaker_model(total)


@dataclass
class Row:
    """One face of one case as a model measured it: the evidence, the offset, the confidence the model
    states, and whether it was right."""

    case: Case
    face: int
    measurement: Measurement | None
    confidence: float = 0.0
    right: bool = False

    @property
    def lag_ms(self) -> float | None:
        return None if self.measurement is None or self.measurement.peak is None else self.measurement.peak.lag_ms

    @property
    def prominence(self) -> float:
        evidence = None if self.measurement is None else self.measurement.evidence
        return -np.inf if evidence is None else evidence.prominence


def measure_rows(cases: Iterable[Case], model: FittedModel) -> list[Row]:
    rows = []
    for case in cases:
        for k, inputs in enumerate(case.inputs):
            measurement = inputs.measurement(model)
            rows.append(Row(case, k, measurement, measurement.confidence(model)))
    return rows


def clip_truths(rows: list[Row]) -> dict[str, float]:
    """The offset each clip carries: its reference, or where none is known, the consensus of its own
    shifted copies: the median, over the copies, of the offset read on the face that answers for the copy
    less the shift.

    The face that answers is the most confident one (:func:`answering_rows`), as when a clip is measured and
    as the benchmark scores (``estimator.py``'s ``mark_scored``), so the calibration learns the rightness it
    is judged by.
    """
    own = [r for r in rows if not r.case.mismatched and r.lag_ms is not None]
    answers: dict[str, list[float]] = {}
    for best, _ in answering_rows(own, [r.confidence for r in own]):
        answers.setdefault(best.case.picture.name, []).append(best.lag_ms - best.case.shift_ms)
    references = {row.case.picture.name: row.case.picture.reference_ms for row in rows}
    return {name: references[name] if references[name] is not None else float(np.median(lags))
            for name, lags in answers.items()}


def answering_rows(rows: list[Row], confidence: Sequence[float]) -> list[tuple[Row, float]]:
    """For each case among ``rows``, the row of the face that answers for it and its confidence: the most
    confident face, or where confidences tie (the first measurement, before any calibration), the one whose
    peak stands out most."""
    best: dict[int, tuple[Row, float]] = {}
    for row, c in zip(rows, confidence, strict=True):
        key = id(row.case)
        if key not in best or (c, row.prominence) > (best[key][1], best[key][0].prominence):
            best[key] = (row, c)
    return list(best.values())


def mark_right(rows: list[Row]) -> None:
    """Set ``right`` on every row: within one frame of the clip's truth plus the shift (never for other audio)."""
    truths = clip_truths(rows)
    for row in rows:
        truth = truths.get(row.case.picture.name)
        row.right = (not row.case.mismatched and row.lag_ms is not None and truth is not None
                     and abs(row.lag_ms - truth - row.case.shift_ms) <= row.case.picture.frame_ms)


def fold_of(groups: list[str], folds: int) -> dict[str, int]:
    """Groups dealt into ``folds`` folds in a fixed order (sorted by a hash of their name)."""
    ordered = sorted(groups, key=lambda g: zlib.crc32(g.encode()))
    return {g: k % folds for k, g in enumerate(ordered)}


def fit_estimator(clips: list[Clip], moments: dict[str, SpeakerMoments | None], cases: list[Case],
                  inner_folds: int = INNER_FOLDS) -> tuple[FittedModel, list[Row]]:
    """Fit the cross-speaker model on ``clips`` and calibrate its confidence on ``cases`` (of those clips).

    The calibration's evidence comes from models fitted without the case's picture's fold (and a
    mismatched case counts only when its sound's clip is in the same held-out fold, so neither was
    seen). The search widens only when an answer is not confident, so the evidence depends on a
    calibration: a first calibration is fitted on the first search range alone, then each fold is
    measured again with the first calibration of the other folds, and the final one fitted on that.
    Returns the model and the final out-of-fold rows.
    """
    fold = fold_of(sorted({c.group for c in clips}), inner_folds)
    speakers = [fit_speaker([c for c in clips if fold[c.group] != k], moments) for k in range(inner_folds)]
    held = [[case for case in cases if fold[case.picture.group] == k and fold[case.sound.group] == k]
            for k in range(inner_folds)]
    first = [measure_rows(held[k], FittedModel(speakers[k], FIRST_RANGE_ONLY, {})) for k in range(inner_folds)]
    for rows in first:
        mark_right(rows)
    rows: list[Row] = []
    for k in range(inner_folds):
        provisional = calibrate([r for j in range(inner_folds) if j != k for r in first[j]])
        rows.extend(measure_rows(held[k], FittedModel(speakers[k], provisional, {})))
    mark_right(rows)
    calibration = calibrate(rows)
    provenance = {"clips": len(clips), "groups": len({c.group for c in clips}),
                  "calibration_rows": len(rows), "inner_folds": inner_folds, "genuine_share": GENUINE_SHARE,
                  "max_mismatched_answered": MAX_MISMATCHED_ANSWERED, "min_answers_right": MIN_ANSWERS_RIGHT}
    return FittedModel(fit_speaker(clips, moments), calibration, provenance), rows


def calibrate(rows: list[Row]) -> Calibration:
    """Logistic calibration over the rows' evidence, weighted to ``GENUINE_SHARE``, and its threshold."""
    usable = [r for r in rows if r.measurement is not None and r.measurement.evidence is not None]
    x = np.array([r.measurement.evidence.vector() for r in usable])
    right = np.array([r.right for r in usable])
    mismatched = np.array([r.case.mismatched for r in usable])
    weight = np.where(mismatched, (1 - GENUINE_SHARE) / max(mismatched.sum(), 1),
                      GENUINE_SHARE / max((~mismatched).sum(), 1))
    weights, intercept = fit_calibration(x, right, weight)
    provisional = Calibration(weights, intercept, 1.0)
    confidence = np.array([provisional.confidence(r.measurement.evidence) for r in usable])
    # The threshold is chosen over cases, each answered by one face.
    answers = answering_rows(usable, confidence)
    conf = np.array([c for _, c in answers])
    ok, mis = np.array([r.right for r, _ in answers]), np.array([r.case.mismatched for r, _ in answers])
    threshold = choose_threshold(conf, ok, mis, MAX_MISMATCHED_ANSWERED, MIN_ANSWERS_RIGHT)
    return Calibration(weights, intercept, threshold)
