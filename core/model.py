"""Plain data objects passed between the pipeline stages, and the report they add up to.

The report's field names are a published schema (``lipalign.report/1``) that other tools
and the Resolve plugin read; keep them stable.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

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
class Report:
    """Everything ``lipalign analyze`` says about one file."""

    file: str
    media: MediaInfo
    sync: SyncResult
    diagnostics: list[Diagnostic]
    fix: Fix

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data; non-finite numbers become ``null``."""
        return _finite({
            "schema": REPORT_SCHEMA,
            "file": self.file,
            "media": self.media.report_fields(),
            "sync": asdict(self.sync),
            "diagnostics": [asdict(d) for d in self.diagnostics],
            "fix": asdict(self.fix),
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
