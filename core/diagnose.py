"""Pre-flight checks an experienced editor runs before blaming the lip-sync measurement."""

from __future__ import annotations

from core.decode import AudioTrack
from core.face import FaceTrack
from core.model import Diagnostic, MediaInfo


def diagnose(media: MediaInfo, audio: AudioTrack, face: FaceTrack, *, project_rate: int = 48000) -> list[Diagnostic]:
    """Run every check; return the ones that fired, most severe first."""
    return []
