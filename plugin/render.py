"""Where corrected audio is rendered, and the rendering itself: never beside the media.

Camera volumes are often read-only and media folders shared; corrected audio goes to a ``LipAlign`` folder in
the project's cache folder (the ``perfCacheClipsLocation`` setting), or to a folder the configuration names,
or, when Resolve names no cache, to the user's cache folder.
"""

from __future__ import annotations

import hashlib
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

from core.correct import write_corrected_audio_file
from core.errors import MediaError
from core.locations import cache_folder
from plugin.plan import Sound
from plugin.session import BIN_NAME, NotApplied

__all__ = ["CACHE_SETTING", "corrected_audio_path", "render_folder", "render_sound"]

# The project's cache folder (public project notes, code-index file id 70989975468: SetSetting on it moved a
# project's render cache).
CACHE_SETTING = "perfCacheClipsLocation"


def render_folder(project: Any, configured: str | os.PathLike[str] | None) -> tuple[Path, str]:
    """The folder corrected audio goes to, and a line saying why that one.

    ``configured`` (the run's ``render_folder``) wins; then a LipAlign folder in the project's cache; then one
    in the user's cache folder.
    """
    if configured:
        return Path(configured), "renders: the folder set in the configuration"
    cache = str(project.GetSetting(CACHE_SETTING) or "").strip()
    if cache:
        return Path(cache) / BIN_NAME, "renders: the LipAlign folder in the project's cache folder"
    return cache_folder() / "renders", ("renders: LipAlign's folder in the user's cache folder (the project names no "
                                                           f"cache folder in {CACHE_SETTING})")


def corrected_audio_path(folder: Path, sound: Sound, offset_ms: float, drift_ms_per_min: float) -> Path:
    """Where the corrected sound of one audio item goes, named by its file, channels and correction (so a
    repeated run reuses the same name)."""
    key = f"{sound.path}|{sound.channels}|{offset_ms:.3f}|{drift_ms_per_min:.4f}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:10]
    return folder / f"{Path(sound.path).stem}.lipalign-{digest}.wav"


def render_sound(folder: Path, sound: Sound, offset_ms: float, drift_ms_per_min: float,
                 lead_s: Fraction = Fraction(0)) -> Path:
    """Render the corrected channels of ``sound``: sample 0 plays with the file's (a video's: first frame's) time 0
    moved by the correction, less ``lead_s`` that the placement will play it early."""
    offset = offset_ms - float(lead_s) * 1000.0
    out = corrected_audio_path(folder, sound, offset, drift_ms_per_min)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NotApplied(f"cannot write the corrected audio to {out.parent} ({exc.strerror}): set a render folder "
                         "in the LipAlign configuration") from None
    try:  # the writer itself refuses to overwrite the media
        write_corrected_audio_file(sound.path, out, offset, drift_ms_per_min, channels=sound.channels or None)
    except (MediaError, ValueError) as exc:
        raise NotApplied(f"cannot render the corrected audio: {exc}") from None
    return out
