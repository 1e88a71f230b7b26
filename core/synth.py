"""Synthetic talking-head clips with a known lip-sync offset and drift, made from nothing.

A drawn frontal face opens and closes its mouth with the vowels of a speech-like sound that is
generated alongside it. The picture shows the speech plan on the picture's own time base; the
audio plays the same plan shifted by ``offset_ms`` and stretched by the drift, so the truth is
exact to the sample. Tests and ``lipalign demo`` use these clips so they need no outside media.

The mouth opening and the vowel loudness share one envelope per syllable: there is no anticipatory
lip movement before the sound (real talkers have some), so a perfect measurement of an unshifted
clip reads 0 ms. Fricative noise leads into some vowels while the lips are still closed, as in speech.

Sign conventions are the project's: ``offset_ms > 0`` means the audio is late, and
``drift_ms_per_min > 0`` means it falls further behind as the clip plays. The audio event drawn
at picture time ``t`` is heard at ``offset_ms / 1000 + t * (1 + drift_ms_per_min / 60000)``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import cv2
import numpy as np
import soxr
from scipy import signal

from core.errors import MediaError
from core.fileio import output_file, write_text_output
from core.framerate import parse_fps
from core.mux import encoded
from core.probe import open_container
from core.progress import ProgressFn, no_progress
from core.version import VERSION

__all__ = ["SAMPLE_RATES", "TRUTH_SUFFIX", "FaceRenderer", "HeadMotion", "SpeechPlan", "SynthTruth", "check_settings",
           "mouth_opening", "offset_audio", "plan_for", "plan_speech", "read_truth", "render_speech",
           "speech_envelope", "synthesize", "video_encoder"]

GENERATOR = "lipalign.synth/1"
FRAME_SIZE = (640, 480)  # width, height in pixels
SAMPLE_RATES = (8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 88200, 96000)
CONTAINERS = (".mp4", ".mov")
AUDIO_CODECS = {"aac": "aac", "pcm": "pcm_s16le"}
TRUTH_SUFFIX = ".truth.json"
MAX_DURATION_S = 600.0
MAX_OFFSET_MS = 10000.0
MAX_DRIFT_MS_PER_MIN = 6000.0
MIN_FPS, MAX_FPS = 1, 120

# Vowels as (F1, F2, F3) formants in Hz and how far the mouth opens for them (0-1).
_VOWELS = (
    ((730.0, 1090.0, 2440.0), 1.00),  # a
    ((570.0, 840.0, 2410.0), 0.75),  # o
    ((530.0, 1840.0, 2480.0), 0.70),  # e
    ((660.0, 1720.0, 2410.0), 0.85),  # ae
    ((300.0, 870.0, 2240.0), 0.45),  # u
    ((270.0, 2290.0, 3010.0), 0.40),  # i
)
_FORMANT_BANDWIDTHS_HZ = (90.0, 110.0, 170.0)
# Fricative consonants as pass bands in Hz (upper edges are clamped below Nyquist).
_FRICATIVES = ((3800.0, 8000.0), (2000.0, 5000.0), (1200.0, 7000.0))
_NOISE_FLOOR_DBFS = -66.0
_PEAK_DBFS = -3.0


@dataclass(frozen=True)
class SynthTruth:
    """What a synthetic clip really contains; stored beside it and in its metadata.

    ``fps`` is the exact frame rate as a ratio (``"30000/1001"``); ``fps_float`` the same as a number.
    """

    offset_ms: float
    drift_ms_per_min: float
    fps: str
    fps_float: float
    sample_rate: int
    duration_s: float
    seed: int
    width: int
    height: int
    video_codec: str
    audio_codec: str
    generator: str = GENERATOR
    lipalign_version: str = VERSION

    @property
    def frame_rate(self) -> Fraction:
        return Fraction(self.fps)

    @property
    def frame_count(self) -> int:
        return round(self.duration_s * self.frame_rate)

    def offset_at(self, t_s: float | np.ndarray) -> float | np.ndarray:
        """Audio-versus-picture offset in ms at picture time ``t_s`` (seconds)."""
        return self.offset_ms + self.drift_ms_per_min * np.asarray(t_s) / 60.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SynthTruth:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("generator") != GENERATOR:
            raise ValueError(f"not a {GENERATOR} truth record")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


# --- the speech plan: when each syllable is said, shared by the picture and the sound -----------------


@dataclass(frozen=True)
class SpeechPlan:
    """Syllables on the picture's time base (arrays of equal length, one entry per syllable).

    A syllable's vowel starts at ``onset_s`` and lasts ``length_s``, rising over ``attack_s`` and
    falling over ``release_s``. ``openness`` (0-1) is how far the mouth opens for it, ``loudness``
    its amplitude. A fricative burst of ``fricative_s`` seconds (0 for none) leads into the vowel.
    """

    onset_s: np.ndarray
    length_s: np.ndarray
    attack_s: np.ndarray
    release_s: np.ndarray
    vowel: np.ndarray
    openness: np.ndarray
    loudness: np.ndarray
    fricative: np.ndarray
    fricative_s: np.ndarray
    phrase: np.ndarray
    pitch_hz: float
    duration_s: float


def plan_speech(duration_s: float, seed: int) -> SpeechPlan:
    """Phrases of syllables at 3-6 per second with pauses between them, as a talker would say them.

    Parameters
    ----------
    duration_s : float
        Length of picture time to fill, seconds.
    seed : int
        The same seed always gives the same plan (for a longer ``duration_s``, the same beginning).
    """
    rng = np.random.default_rng(seed)
    pitch_hz = float(rng.uniform(100.0, 220.0))
    rows: list[tuple[float, ...]] = []
    t = float(rng.uniform(0.08, 0.16))
    phrase = 0
    while t < duration_s:
        for _ in range(int(rng.integers(3, 10))):
            period = float(rng.uniform(1 / 6, 1 / 3))
            vowel = int(rng.integers(len(_VOWELS)))
            has_fricative = rng.random() < 0.35
            rows.append((
                t,
                period * float(rng.uniform(0.55, 0.8)),
                float(rng.uniform(0.03, 0.06)),
                float(rng.uniform(0.04, 0.08)),
                vowel,
                _VOWELS[vowel][1] * float(rng.uniform(0.85, 1.0)),
                float(rng.uniform(0.55, 1.0)),
                int(rng.integers(len(_FRICATIVES))),
                float(rng.uniform(0.04, 0.10)) if has_fricative else 0.0,
                phrase,
            ))
            t += period
        t += float(rng.uniform(0.3, 0.7))
        phrase += 1
    table = np.array(rows, np.float64).reshape(-1, 10)
    # Louder vowels are the open ones, as in real speech: the sound follows the mouth.
    loudness = table[:, 6] * (0.55 + 0.45 * table[:, 5])
    return SpeechPlan(
        onset_s=table[:, 0], length_s=table[:, 1], attack_s=table[:, 2], release_s=table[:, 3],
        vowel=table[:, 4].astype(int), openness=table[:, 5], loudness=loudness,
        fricative=table[:, 7].astype(int), fricative_s=table[:, 8], phrase=table[:, 9].astype(int),
        pitch_hz=pitch_hz, duration_s=float(duration_s),
    )


def _shapes(plan: SpeechPlan, idx: np.ndarray, times_s: np.ndarray) -> np.ndarray:
    """Rise-hold-fall curves (0-1) of syllables ``idx`` at ``times_s``: a (len(idx), len(times_s)) array."""
    rel = np.asarray(times_s, np.float64)[None, :] - plan.onset_s[idx, None]
    rise = np.clip(rel / plan.attack_s[idx, None], 0.0, 1.0)
    fall = np.clip((plan.length_s[idx, None] - rel) / plan.release_s[idx, None], 0.0, 1.0)
    return np.sin(0.5 * np.pi * np.minimum(rise, fall)) ** 2


def _overlapping(plan: SpeechPlan, times_s: np.ndarray) -> np.ndarray:
    t = np.asarray(times_s, np.float64)
    if t.size == 0:
        return np.zeros(0, int)
    return np.flatnonzero((plan.onset_s + plan.length_s > t.min()) & (plan.onset_s < t.max()))


def mouth_opening(plan: SpeechPlan, times_s: np.ndarray) -> np.ndarray:
    """How far the drawn mouth is open (0 closed, 1 widest) at picture times ``times_s`` (seconds)."""
    idx = _overlapping(plan, times_s)
    if idx.size == 0:
        return np.zeros(np.size(times_s))
    return np.max(plan.openness[idx, None] * _shapes(plan, idx, times_s), axis=0)


def speech_envelope(plan: SpeechPlan, times_s: np.ndarray) -> np.ndarray:
    """Amplitude of the vowel sound (linear, before the final level normalisation) at picture times ``times_s``."""
    idx = _overlapping(plan, times_s)
    if idx.size == 0:
        return np.zeros(np.size(times_s))
    return np.sum(plan.loudness[idx, None] * _shapes(plan, idx, times_s), axis=0)


def _resonator(freq_hz: float, bandwidth_hz: float, rate: int) -> tuple[np.ndarray, np.ndarray]:
    r = np.exp(-np.pi * bandwidth_hz / rate)
    theta = 2 * np.pi * freq_hz / rate
    a = np.array([1.0, -2 * r * np.cos(theta), r * r])
    return np.array([a.sum()]), a  # unity gain at 0 Hz keeps the formants' levels comparable


def _glottal_source(plan: SpeechPlan, n: int, rate: int, rng: np.random.Generator) -> np.ndarray:
    """A pulse train with falling phrase intonation and period jitter, spectrally tilted like a glottis."""
    t = np.arange(n) / rate
    phrase_starts = np.array([plan.onset_s[plan.phrase == p].min() for p in np.unique(plan.phrase)]) \
        if plan.onset_s.size else np.zeros(1)
    current = np.clip(np.searchsorted(phrase_starts, t, side="right") - 1, 0, None)
    since_phrase = t - phrase_starts[current]
    contour = plan.pitch_hz * (1.15 - 0.25 * np.clip(since_phrase / 2.0, 0.0, 1.0))
    wander = signal.lfilter([0.004], [1.0, -0.98], rng.standard_normal(n))  # slow drift of pitch, 2 % rms
    phase = np.cumsum(contour * (1.0 + wander) / rate)
    at = np.flatnonzero(np.diff(np.floor(phase)) > 0) + 1
    # Cycle-to-cycle jitter: each glottal pulse comes up to about 1 % of a period early or late.
    at = at + np.round(rng.normal(0.0, 0.01 * rate / plan.pitch_hz, at.size)).astype(int)
    pulses = np.zeros(n)
    pulses[np.clip(at, 0, n - 1)] = 1.0
    tilted = signal.lfilter([1.0], [1.0, -1.94, 0.9409], pulses)  # two poles at 0.97: -12 dB/octave
    return np.diff(tilted, prepend=0.0)  # lip radiation: +6 dB/octave


def render_speech(plan: SpeechPlan, rate: int, seed: int) -> np.ndarray:
    """The sound of ``plan`` on the picture's time base, float32 mono peaking at -3 dBFS, with a faint noise floor."""
    rng = np.random.default_rng([seed, rate])
    n = round(plan.duration_s * rate)
    source = _glottal_source(plan, n, rate, rng)
    t = np.arange(n) / rate
    voiced = np.zeros(n)
    for v, (formants, _) in enumerate(_VOWELS):
        mine = np.flatnonzero(plan.vowel == v)
        if mine.size == 0:
            continue
        sound = source
        for freq, bw in zip(formants, _FORMANT_BANDWIDTHS_HZ, strict=True):
            if freq < 0.45 * rate:
                sound = signal.lfilter(*_resonator(freq, bw, rate), sound)
        sound = sound / (np.sqrt(np.mean(sound**2)) + 1e-12)
        for i in mine:
            lo, hi = np.searchsorted(t, [plan.onset_s[i], plan.onset_s[i] + plan.length_s[i]])
            shape = _shapes(plan, np.array([i]), t[lo:hi])[0]
            voiced[lo:hi] += plan.loudness[i] * shape * sound[lo:hi]
    noise = rng.standard_normal(n)
    fricatives = np.zeros(n)
    for k, (low, high) in enumerate(_FRICATIVES):
        mine = np.flatnonzero((plan.fricative == k) & (plan.fricative_s > 0))
        if mine.size == 0:
            continue
        sos = signal.butter(4, [low, min(high, 0.45 * rate)], btype="bandpass", fs=rate, output="sos")
        band = signal.sosfilt(sos, noise)
        band /= np.sqrt(np.mean(band**2)) + 1e-12
        for i in mine:
            lo, hi = np.searchsorted(t, [plan.onset_s[i] - plan.fricative_s[i], plan.onset_s[i] + 0.01])
            burst = np.sin(np.pi * np.linspace(0.0, 1.0, hi - lo)) ** 2
            fricatives[lo:hi] += 0.25 * plan.loudness[i] * burst * band[lo:hi]
    speech = voiced + fricatives
    peak = float(np.max(np.abs(speech))) if n else 0.0
    if peak > 0:
        speech *= 10 ** (_PEAK_DBFS / 20) / peak
    floor = signal.lfilter([1.0], [1.0, -0.9], rng.standard_normal(n))
    floor *= 10 ** (_NOISE_FLOOR_DBFS / 20) / (np.sqrt(np.mean(floor**2)) + 1e-12)
    return (speech + floor).astype(np.float32)


def offset_audio(samples: np.ndarray, rate: int, offset_ms: float, drift_ms_per_min: float,
                 length: int) -> np.ndarray:
    """Move picture-time audio so it plays ``offset_ms`` late, falling behind by ``drift_ms_per_min``.

    The sound at picture time ``t`` ends up at ``offset_ms / 1000 + t * (1 + drift_ms_per_min / 60000)``:
    the drift is an exact-ratio resampling (soxr, delay compensated) and the offset a whole-sample shift
    (padding with silence when late, trimming when early). The result has ``length`` samples.
    """
    stretched = samples
    if drift_ms_per_min:
        stretched = soxr.resample(samples, rate, rate * (1.0 + drift_ms_per_min / 60000.0), quality="VHQ")
    shift = round(offset_ms * rate / 1000.0)
    moved = np.concatenate([np.zeros(shift, np.float32), stretched]) if shift >= 0 else stretched[-shift:]
    out = np.zeros(length, np.float32)
    out[:min(length, moved.size)] = moved[:length]
    return out


# --- the picture ------------------------------------------------------------------------------------

_SUB = 4  # OpenCV fractional bits: shapes are placed to 1/16 pixel, so small motion is smooth
_SKIN = (226, 176, 146)
_SKIN_SHADE = (200, 146, 118)
_HAIR = (58, 40, 30)
_LIP = (178, 82, 88)
_LIP_DARK = (150, 62, 70)
_MOUTH_INSIDE = (62, 16, 22)


@dataclass(frozen=True)
class HeadMotion:
    """Slow sway, nod and roll of the head plus blinks, all fixed by the seed."""

    phases: np.ndarray
    blinks_s: np.ndarray

    @classmethod
    def from_seed(cls, seed: int, duration_s: float) -> HeadMotion:
        rng = np.random.default_rng([seed, 7])
        blinks = np.cumsum(rng.uniform(2.0, 4.5, size=int(duration_s / 2.0) + 2)) - 1.0
        return cls(rng.uniform(0, 2 * np.pi, 3), blinks)

    def pose(self, t_s: float) -> tuple[float, float, float]:
        """(dx, dy) in pixels and roll in degrees at picture time ``t_s``."""
        return (6.0 * np.sin(2 * np.pi * 0.21 * t_s + self.phases[0]),
                4.0 * np.sin(2 * np.pi * 0.17 * t_s + self.phases[1]),
                2.5 * np.sin(2 * np.pi * 0.13 * t_s + self.phases[2]))

    def eyelid(self, t_s: float) -> float:
        """How far the eyes are shut (0 open, 1 closed); a blink takes 150 ms."""
        nearest = float(np.min(np.abs(self.blinks_s - t_s))) if self.blinks_s.size else 1.0
        return float(max(0.0, 1.0 - nearest / 0.075))


def _pt(cx: float, cy: float, x: float, y: float) -> tuple[int, int]:
    return round((cx + x) * (1 << _SUB)), round((cy + y) * (1 << _SUB))


def _ellipse(img: np.ndarray, centre: tuple[int, int], axes: tuple[float, float], angle: float,
             color: tuple[int, int, int], thickness: int = -1, start: float = 0, end: float = 360) -> None:
    size = (max(1, int(axes[0] * (1 << _SUB))), max(1, int(axes[1] * (1 << _SUB))))
    cv2.ellipse(img, centre, size, angle, start, end, color, thickness, cv2.LINE_AA, _SUB)


class FaceRenderer:
    """Draws the frames of one clip: a frontal face on a plain backdrop, lit from the upper left.

    The backdrop and the lighting are computed once per clip; each frame only draws the face.
    """

    def __init__(self, motion: HeadMotion, size: tuple[int, int] = FRAME_SIZE) -> None:
        width, height = size
        self.motion = motion
        self.size = size
        y, x = np.mgrid[0:height, 0:width].astype(np.float32)
        k = height / 480.0
        r = np.hypot((x - width / 2 + 40 * k) / (150 * k), (y - height * 0.48 + 60 * k) / (190 * k))
        # Brightness factor times 200, so that cv2.multiply can apply it to uint8 frames in one pass.
        light = 200.0 * (1.06 - 0.14 * np.clip(r, 0, 1.4) ** 2)
        self._light = np.repeat(light[..., None], 3, axis=2).astype(np.uint8)
        self._backdrop = (np.linspace(0.88, 1.02, height)[:, None, None] * np.array([200, 210, 222])
                          * np.ones((1, width, 1))).astype(np.uint8)

    def frame(self, opening: float, t_s: float) -> np.ndarray:
        """One RGB frame (height, width, 3) uint8 with the mouth ``opening`` (0-1) open at picture time ``t_s``.

        The gap between the inner lips grows linearly with ``opening``; the jaw drops with it.
        """
        img = self._backdrop.copy()
        _draw_head(img, opening, self.motion.eyelid(t_s), self.motion.pose(t_s))
        img = cv2.multiply(img, self._light, scale=1 / 200.0)
        return cv2.GaussianBlur(img, (3, 3), 0)


def _draw_head(img: np.ndarray, opening: float, lid: float, pose: tuple[float, float, float]) -> None:
    """Draw the face into ``img`` in place (designed on a 480-line frame and scaled to its height).

    ``pose`` is (dx, dy, roll): the head shifts by (dx, dy) design pixels and turns by ``roll`` degrees
    about the base of the neck, which is drawn rather than warped so the frame is not resampled.
    """
    height, width = img.shape[:2]
    k = height / 480.0
    dx, dy, roll = pose
    cx, cy = width / 2 + dx * k, height * 0.48 + dy * k
    cos, sin = np.cos(np.radians(roll)), np.sin(np.radians(roll))
    o = float(np.clip(opening, 0.0, 1.0))
    jaw = 20 * o

    def p(x: float, y: float) -> tuple[int, int]:
        # Rotate about the neck (0, 150) the way cv2.ellipse turns its axes (clockwise on screen).
        y -= 150
        return _pt(cx, cy, (x * cos - y * sin) * k, (x * sin + y * cos + 150) * k)

    def e(x: float, y: float, ax: float, ay: float, color: tuple[int, int, int], thickness: int = -1,
          start: float = 0, end: float = 360) -> None:
        _ellipse(img, p(x, y), (ax * k, ay * k), roll, color, thickness, start, end)

    # Body, neck, back hair, head and jaw (the jaw drops with the mouth), ears.
    e(0, 300, 240, 130, (52, 72, 112))
    cv2.fillConvexPoly(img, np.array([p(-52, 60), p(52, 60), p(60, 250), p(-60, 250)]), _SKIN_SHADE,
                       cv2.LINE_AA, _SUB)
    e(0, -28, 128, 150, _HAIR)
    e(0, -10, 112, 140, _SKIN)
    e(0, 40 + jaw / 2, 100, 100 + jaw / 2, _SKIN)
    for sx in (-1, 1):
        e(sx * 110, 0, 13, 27, _SKIN_SHADE)
    e(0, -95, 116, 62, _HAIR, start=180, end=360)
    e(0, -92, 92, 26, _SKIN, start=180, end=360)  # a rounded hairline instead of a straight fringe
    # Eyebrows.
    for sx in (-1, 1):
        brow = np.array([p(sx * 24, -47), p(sx * 45, -55), p(sx * 70, -50)])
        cv2.polylines(img, [brow], False, (72, 48, 36), max(2, round(6 * k)), cv2.LINE_AA, _SUB)
    # Eyes: white, iris, pupil, highlight, then the upper lid coming down for blinks.
    for sx in (-1, 1):
        ex, ey = sx * 45, -28
        e(ex, ey, 24, 11, (246, 244, 240))
        e(ex, ey, 10, 10, (92, 62, 42))
        e(ex, ey, 4.5, 4.5, (12, 10, 10))
        e(ex + 3, ey - 3, 1.8, 1.8, (255, 255, 255))
        e(ex, ey, 24, 11, (118, 80, 70), thickness=max(1, round(2 * k)))
        if lid > 0.05:
            e(ex, ey - 11, 26, 22 * lid, _SKIN, start=0, end=180)
            e(ex, ey - 11, 25, 22 * lid, (58, 40, 34), max(2, round(3 * k)), 0, 180)
        else:
            e(ex, ey, 25, 12, (58, 40, 34), max(2, round(3 * k)), 180, 360)
    # Nose: a shaded bridge, the tip and nostrils.
    cv2.fillPoly(img, [np.array([p(-4, -20), p(-12, 22), p(-18, 30), p(-8, 36), p(0, 38), p(8, 36), p(18, 30),
                                 p(12, 22), p(4, -20)])], (214, 160, 130), cv2.LINE_AA, _SUB)
    cv2.fillPoly(img, [np.array([p(4, -18), p(12, 22), p(18, 30), p(10, 26)])], _SKIN_SHADE, cv2.LINE_AA, _SUB)
    e(-9, 33, 5, 3, (122, 72, 62))
    e(9, 33, 5, 3, (122, 72, 62))
    # Mouth: lips with a darker upper lip, the dark opening whose height follows `opening`, upper teeth.
    gap = 2 + 30 * o
    half_width = 36 - 6 * o
    my = 68 + gap / 2 - 2
    e(0, my, half_width + 6, 9 + gap / 2, _LIP)
    e(0, my - gap / 2 - 4, half_width + 2, 5, _LIP_DARK, start=180, end=360)
    e(0, my, half_width - 4, max(gap / 2, 0.6), _MOUTH_INSIDE)
    if gap > 8:
        e(0, my - gap / 2, half_width - 8, min(gap / 3, 6), (238, 236, 230), start=0, end=180)


# --- the clip ---------------------------------------------------------------------------------------


def _plan_length_s(duration_s: float, offset_ms: float, drift_ms_per_min: float) -> float:
    # Early or slow audio reaches past the picture's end; plan enough speech to fill the whole track.
    stretch = 1.0 + drift_ms_per_min / 60000.0
    return (duration_s + abs(offset_ms) / 1000.0) / min(stretch, 1.0) + 0.5


def plan_for(truth: SynthTruth) -> SpeechPlan:
    """The speech plan a synthetic clip was made from, rebuilt from its truth record."""
    return plan_speech(_plan_length_s(truth.duration_s, truth.offset_ms, truth.drift_ms_per_min), truth.seed)


def video_encoder() -> str:
    """H.264 when this FFmpeg build has libx264, else MPEG-4 Part 2 (which every build has)."""
    try:
        av.Codec("libx264", "w")
    except (av.error.FFmpegError, ValueError):
        return "mpeg4"
    return "libx264"


def check_settings(output: str | os.PathLike[str], offset_ms: float, drift_ms_per_min: float,
                   sample_rate: int, duration_s: float, audio_codec: str | None) -> str:
    """Validate what :func:`synthesize` is asked for; returns the FFmpeg audio encoder name.

    Raises ValueError with a one-line reason.
    """
    suffix = Path(output).suffix.lower()
    if suffix not in CONTAINERS:
        raise ValueError(f"the output must end in {' or '.join(CONTAINERS)}, not {suffix or 'nothing'}")
    if not 0.5 <= duration_s <= MAX_DURATION_S:
        raise ValueError(f"duration {duration_s} s is outside 0.5-{MAX_DURATION_S:.0f} s")
    if abs(offset_ms) > MAX_OFFSET_MS:
        raise ValueError(f"offset {offset_ms} ms is beyond ±{MAX_OFFSET_MS:.0f} ms")
    if abs(drift_ms_per_min) > MAX_DRIFT_MS_PER_MIN:
        raise ValueError(f"drift {drift_ms_per_min} ms/min is beyond ±{MAX_DRIFT_MS_PER_MIN:.0f} ms/min")
    if sample_rate not in SAMPLE_RATES:
        raise ValueError(f"sample rate {sample_rate} Hz is not one of {', '.join(map(str, SAMPLE_RATES))}")
    codec = audio_codec or ("pcm" if suffix == ".mov" else "aac")
    if codec not in AUDIO_CODECS:
        raise ValueError(f"audio codec {codec!r} is not one of {', '.join(AUDIO_CODECS)}")
    return AUDIO_CODECS[codec]


def _audio_frames(samples: np.ndarray, rate: int, sample_format: str, block: int = 1024) -> Iterator[av.AudioFrame]:
    for start in range(0, samples.size, block):
        chunk = samples[start:start + block]
        data = np.round(np.clip(chunk, -1.0, 32767 / 32768) * 32768).astype(np.int16) if sample_format == "s16" \
            else chunk.astype(np.float32)
        frame = av.AudioFrame.from_ndarray(data[None, :], format=sample_format, layout="mono")
        frame.sample_rate = rate
        frame.pts = start
        yield frame


def synthesize(output: str | os.PathLike[str], *, offset_ms: float = 0.0, drift_ms_per_min: float = 0.0,
               fps: str | float | Fraction = 25, sample_rate: int = 48000, duration_s: float = 6.0,
               seed: int = 0, audio_codec: str | None = None,
               progress: ProgressFn = no_progress) -> SynthTruth:
    """Write a synthetic talking-head clip whose audio is ``offset_ms`` late and drifts by ``drift_ms_per_min``.

    Parameters
    ----------
    output : path-like
        Destination ``.mp4`` or ``.mov``; written atomically, with the truth beside it in
        ``<output>.truth.json`` and in the container's ``comment`` tag.
    offset_ms : float
        Audio offset at the start of the clip in ms, positive when the audio is late.
    drift_ms_per_min : float
        Growth of the offset in ms per minute of picture, positive when the audio falls further behind.
    fps : str, float or Fraction
        Frame rate, e.g. ``25``, ``"29.97"`` or ``"30000/1001"`` (see :func:`core.framerate.parse_fps`).
    sample_rate : int
        Audio sample rate in Hz.
    duration_s : float
        Length of the clip in seconds (picture and sound).
    seed : int
        Chooses the speech, voice, head motion and blinks; the same settings give the same clip.
    audio_codec : {"aac", "pcm"}, optional
        AAC by default in .mp4, 16-bit PCM in .mov.
    progress : ProgressFn
        Called with (fraction done, stage).

    Returns
    -------
    SynthTruth
        The record stored with the clip.

    Raises
    ------
    ValueError
        A setting is out of range.
    """
    rate = parse_fps(fps, lowest=MIN_FPS, highest=MAX_FPS)
    encoder = check_settings(output, offset_ms, drift_ms_per_min, sample_rate, duration_s, audio_codec)
    video_codec = video_encoder()
    width, height = FRAME_SIZE
    truth = SynthTruth(offset_ms=float(offset_ms), drift_ms_per_min=float(drift_ms_per_min), fps=str(rate),
                       fps_float=float(rate), sample_rate=int(sample_rate), duration_s=float(duration_s),
                       seed=int(seed), width=width, height=height, video_codec=video_codec, audio_codec=encoder)
    progress(0.0, "generating speech")
    plan = plan_for(truth)
    speech = render_speech(plan, sample_rate, seed)
    samples = offset_audio(speech, sample_rate, offset_ms, drift_ms_per_min, round(duration_s * sample_rate))
    n_frames = truth.frame_count
    frame_times = np.arange(n_frames) / float(rate)
    opening = mouth_opening(plan, frame_times)
    renderer = FaceRenderer(HeadMotion.from_seed(seed, duration_s))
    with output_file(output) as tmp:
        container = av.open(str(tmp), "w")
        try:
            container.metadata["comment"] = truth.to_json()
            container.metadata["description"] = truth.to_json()
            options = {"preset": "veryfast", "crf": "18"} if video_codec == "libx264" else {}
            video = container.add_stream(video_codec, rate=rate, options=options)
            video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            if video_codec != "libx264":
                video.bit_rate = 3_000_000  # MPEG-4 Part 2 defaults to 200 kb/s, which smears the lips
            sound = container.add_stream(encoder, rate=sample_rate, layout="mono")
            pending = _audio_frames(samples, sample_rate, sound.format.name)
            queued = next(pending, None)
            for i, t in enumerate(frame_times):
                picture = av.VideoFrame.from_ndarray(renderer.frame(opening[i], t), format="rgb24")
                picture.pts = i
                container.mux(encoded(video, picture))
                # Interleave: send the sound up to the end of this frame before the next picture.
                while queued is not None and queued.pts < (i + 1) / rate * sample_rate:
                    container.mux(encoded(sound, queued))
                    queued = next(pending, None)
                if i % 25 == 0:
                    progress(0.1 + 0.9 * i / n_frames, "drawing and encoding")
            while queued is not None:
                container.mux(encoded(sound, queued))
                queued = next(pending, None)
            container.mux(encoded(video, None))
            container.mux(encoded(sound, None))
        finally:
            container.close()
    write_text_output(f"{os.fspath(output)}{TRUTH_SUFFIX}", json.dumps(asdict(truth), indent=2) + "\n")
    progress(1.0, "done")
    return truth


def read_truth(path: str | os.PathLike[str],
               source: Literal["any", "sidecar", "metadata"] = "any") -> SynthTruth:
    """The truth of a synthetic clip, from ``<path>.truth.json`` or else from the container metadata.

    Raises
    ------
    MediaError
        Neither place holds a truth record (or ``source`` names one that does not).
    """
    path = os.fspath(path)
    sidecar = Path(f"{path}{TRUTH_SUFFIX}")
    if source != "metadata" and sidecar.is_file():
        try:
            return SynthTruth.from_json(sidecar.read_text(encoding="utf-8"))
        except (ValueError, TypeError) as exc:
            raise MediaError(f"{sidecar}: not a valid truth record ({exc})") from None
    if source != "sidecar":
        with open_container(path) as container:
            for key in ("comment", "description"):
                try:
                    return SynthTruth.from_json(container.metadata.get(key, ""))
                except (ValueError, TypeError):
                    continue
    where = {"any": f"no {sidecar.name} beside it and none in its metadata",
             "sidecar": f"no {sidecar.name} beside it", "metadata": "none in its metadata"}[source]
    raise MediaError(f"{path}: not a synthetic clip with a known truth ({where})")
