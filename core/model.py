"""Plain data objects passed between the pipeline stages, and the report they add up to.

The report's field names are a published schema (``lipalign.report/1``) that other tools
and the Resolve plugin read; keep them stable.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

__all__ = ["REPORT_SCHEMA", "Correction", "Coverage", "Diagnostic", "Fix", "MediaInfo", "Report", "SpliceInRange",
           "SyncResult", "SyncWindow", "speed_ratio"]

REPORT_SCHEMA = "lipalign.report/1"

Verdict = Literal["in_sync", "offset", "drift", "inconclusive"]
Severity = Literal["info", "warning", "error"]


@dataclass(frozen=True)
class MediaInfo:
    """Stream facts of one file, as a probe reads them (no decoding of samples).

    Times are seconds from the start of the clip (the earliest stream start).
    """

    path: str
    container: str
    duration_s: float
    has_video: bool
    has_audio: bool
    width: int | None = None
    height: int | None = None
    video_codec: str | None = None
    fps_declared: float | None = None
    fps_measured: float | None = None
    vfr: bool = False
    frame_count: int = 0
    dropped_frames: int = 0
    duplicated_frames: int = 0
    frame_interval_jitter_ms: float = 0.0
    video_start_s: float | None = None
    audio_start_s: float | None = None
    audio_codec: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    bit_depth: int | None = None
    rotation: int = 0

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) in pixels of the pictures as a player shows them: turned by ``rotation``.

        ``width`` and ``height`` are the stream's stored size; ``rotation`` is the degrees (0, 90, 180, 270)
        a player turns them counter-clockwise, as ffprobe's display matrix reports it.
        """
        width, height = self.width or 0, self.height or 0
        return (height, width) if self.rotation in (90, 270) else (width, height)

    def report_fields(self) -> dict[str, Any]:
        """The ``media`` object of the report."""
        return {
            "duration_s": self.duration_s,
            "width": self.width,
            "height": self.height,
            "rotation": self.rotation,
            "video_codec": self.video_codec,
            "fps_declared": self.fps_declared,
            "fps_measured": self.fps_measured,
            "vfr": self.vfr,
            "video_start_s": self.video_start_s,
            "audio_start_s": self.audio_start_s,
            "audio_codec": self.audio_codec,
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "bit_depth": self.bit_depth,
            "container": self.container,
            "frame_count": self.frame_count,
            "dropped_frames": self.dropped_frames,
            "duplicated_frames": self.duplicated_frames,
        }


@dataclass(frozen=True)
class SyncWindow:
    """The offset measured over one stretch of the clip."""

    start_s: float
    end_s: float
    offset_ms: float | None
    confidence: float


def speed_ratio(drift_ms_per_min: float) -> float:
    """The factor by which audio drifting ``drift_ms_per_min`` must be played faster.

    Drift of ``d`` ms per minute means the audio runs ``1 + d/60000`` times too long.
    """
    return 1.0 + drift_ms_per_min / 60000.0


@dataclass(frozen=True)
class Correction:
    """What puts measured audio back on the lips: the one rule every fix (file, report, timeline) follows.

    ``offset_ms`` is the offset to remove at media time 0 (positive: the audio is late, so it moves earlier)
    and ``drift_ms_per_min`` the drift to remove (counted only when the estimator called the clip drifting).
    ``needed`` is whether the measurement calls for a change at all: the verdict is ``offset`` or ``drift``,
    or the offset is one stretch's of a clip that changes offset at a splice (the clip's verdict does not
    speak for one stretch). A timeline also adds where its items sit, so it checks its own tolerance too.
    """

    offset_ms: float
    drift_ms_per_min: float
    needed: bool

    @property
    def speed_ratio(self) -> float:
        """How much faster the audio must play to remove the drift (``Fix.speed_ratio``)."""
        return speed_ratio(self.drift_ms_per_min)

    def offset_at_ms(self, media_s: float) -> float:
        """The offset (ms, positive = audio late) at media second ``media_s``."""
        return self.offset_ms + self.drift_ms_per_min * float(media_s) / 60.0


class SpliceInRange(ValueError):
    """A stretch of media runs across a splice, so no single offset corrects it."""


@dataclass(frozen=True)
class SyncResult:
    """How far the audio is from the lips.

    ``offset_ms > 0``: the audio is late (lips move before the sound) at the start of the clip.
    ``drift_ms_per_min > 0``: the audio falls further behind as the clip plays. ``confidence`` is the
    chance that ``offset_ms`` is within one frame of the truth.

    ``moments`` are the clearest moments to check by eye (``time_s``, ``event``, the ``offset_ms`` that
    moment alone shows); ``opinions`` what each independent reading said (the cross-speaker
    correlation, the clip's own correlation, the lip releases against the bursts they make) and the
    search range used; ``face`` which face was measured when several were in view, and why.
    """

    verdict: Verdict
    offset_ms: float | None
    offset_frames: float | None
    drift_ms_per_min: float | None
    confidence: float
    windows: list[SyncWindow] = field(default_factory=list)
    reason: str = ""
    tolerance: str = "broadcast"
    splices: list[dict[str, float]] = field(default_factory=list)
    moments: list[dict[str, float | str]] = field(default_factory=list)
    opinions: dict[str, Any] = field(default_factory=dict)
    face: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def inconclusive(cls, reason: str, *, tolerance: str = "broadcast") -> SyncResult:
        return cls("inconclusive", None, None, None, 0.0, [], reason, tolerance)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SyncResult:
        """The result a report's ``sync`` record holds (what :meth:`Report.to_dict` wrote, or the part of it a
        user kept): what is missing reads as not measured."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names and v is not None}
        return cls(**{"offset_ms": None, "offset_frames": None, "drift_ms_per_min": None, **values,
                      "verdict": data.get("verdict") or "inconclusive",
                      "confidence": float(data.get("confidence") or 0.0),
                      "windows": [SyncWindow(**w) for w in data.get("windows") or []]})

    def stretches(self, start_s: float, end_s: float) -> list[tuple[float, float, Correction]]:
        """The correction over media seconds ``[start_s, end_s]``, one piece per stretch between the splices
        inside it, as (start, end, correction); empty when the measurement is inconclusive."""
        inside = sorted(float(s["time_s"]) for s in self.splices if start_s < s["time_s"] < end_s)
        pieces = []
        for a, b in itertools.pairwise([start_s, *inside, end_s]):
            correction = self.correction(a, b)
            if correction is not None:
                pieces.append((a, b, correction))
        return pieces

    def correction(self, start_s: float | None = None, end_s: float | None = None) -> Correction | None:
        """The correction for the whole clip, or for the media seconds ``[start_s, end_s)`` of it.

        None when the measurement is inconclusive. A clip with splices (an edit inside the file, after which
        the offset jumps) is corrected stretch by stretch: a range between two splices gets the offset the
        report measured on its side of them, and no drift.

        Raises
        ------
        SpliceInRange
            ``[start_s, end_s)`` runs across a splice.
        """
        if self.verdict == "inconclusive" or self.offset_ms is None:
            return None
        if start_s is None or not self.splices:
            drift = float(self.drift_ms_per_min or 0.0) if self.verdict == "drift" else 0.0
            return Correction(float(self.offset_ms), drift, self.verdict in ("offset", "drift"))
        end = start_s if end_s is None else end_s
        splices = sorted(self.splices, key=lambda s: s["time_s"])
        for splice in splices:
            if start_s < splice["time_s"] < end:
                raise SpliceInRange(
                    f"media {start_s:.2f}-{end:.2f} s runs across a splice at {splice['time_s']:.2f} s, where the "
                    f"offset jumps from {splice['offset_before_ms']:+.0f} to {splice['offset_after_ms']:+.0f} ms")
        before = [s for s in splices if s["time_s"] <= start_s]
        offset = before[-1]["offset_after_ms"] if before else splices[0]["offset_before_ms"]
        return Correction(float(offset), 0.0, True)


@dataclass(frozen=True)
class Diagnostic:
    """One pre-flight check that fired: what was measured, against what, and what to do."""

    code: str
    severity: Severity
    message: str
    value: float | str | None
    threshold: float | str | None
    fix: str


@dataclass(frozen=True)
class Fix:
    """The correction that would bring the audio onto the lips.

    ``slip_ms`` moves the audio later when positive (so it is ``-offset_ms``); ``speed_ratio`` is the
    factor by which to speed the audio up (``> 1`` when the audio runs long and falls behind).
    """

    slip_ms: float
    slip_frames: float
    speed_ratio: float

    @classmethod
    def none(cls) -> Fix:
        return cls(0.0, 0.0, 1.0)


@dataclass(frozen=True)
class Coverage:
    """How much of the file the measurement read.

    ``mode`` is ``"full"`` (every frame of the file, or of the part asked for) or ``"progressive"``
    (windows spread over the file until the answer was sure enough); ``windows`` are the (start, end)
    media seconds whose frames were read, in reading order.
    """

    mode: str
    duration_s: float
    windows: list[tuple[float, float]]

    @property
    def used_s(self) -> float:
        """Media seconds whose frames were read."""
        return float(sum(end - start for start, end in self.windows))

    @property
    def share(self) -> float:
        """The share of the file read, 0 to 1."""
        return min(self.used_s / self.duration_s, 1.0) if self.duration_s > 0 else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "duration_s": round(self.duration_s, 3), "used_s": round(self.used_s, 3),
                "share": round(self.share, 4), "windows": [[round(a, 3), round(b, 3)] for a, b in self.windows]}


@dataclass(frozen=True)
class Report:
    """Everything ``lipalign analyze`` says about one file; ``coverage`` says how much of it was read."""

    file: str
    media: MediaInfo
    sync: SyncResult
    diagnostics: list[Diagnostic]
    fix: Fix
    coverage: Coverage | None = None

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data; non-finite numbers become ``null``."""
        return _finite({
            "schema": REPORT_SCHEMA,
            "file": self.file,
            "media": self.media.report_fields(),
            "sync": asdict(self.sync),
            "diagnostics": [asdict(d) for d in self.diagnostics],
            "fix": asdict(self.fix),
            "coverage": None if self.coverage is None else self.coverage.to_dict(),
        })


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _finite(value.item())
    return value
