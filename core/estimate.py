"""Offset and drift between the lips and the audio."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.decode import AudioTrack
from core.face import FaceTrack
from core.model import SyncResult
from core.tolerance import PRESETS, Tolerance


@dataclass(frozen=True)
class EstimatorSettings:
    """How the estimator searches and judges."""

    search_ms: float = 1000.0
    tolerance: Tolerance = field(default_factory=lambda: PRESETS["broadcast"])


def estimate_sync(face: FaceTrack, audio: AudioTrack, *, fps: float, settings: EstimatorSettings) -> SyncResult:
    return SyncResult.inconclusive("estimator not built yet", tolerance=settings.tolerance.name)
