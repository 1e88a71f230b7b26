"""The panel's demo timeline: synthetic talking heads with known offsets on the Resolve fake.

Five clips, each drawn and voiced by :mod:`core.synth` with a known truth: audio 120 ms late, audio 80 ms
early, in sync, one too short to be sure of (inconclusive) and one retimed to 200 % (skipped).
``python -m plugin.panel --demo`` opens on it (see plugin/panel/demo.py).
"""

from __future__ import annotations

from pathlib import Path

from core.progress import ProgressFn, no_progress
from core.synth import synthesize
from kit.fake_resolve import FakeResolve, place_clip

__all__ = ["DEMO_CLIPS", "demo_resolve"]

# (file name, audio offset in ms, seconds, seed, speed in %)
DEMO_CLIPS: tuple[tuple[str, float, float, int, float], ...] = (
    ("anchor-audio-late-120ms.mp4", 120.0, 8.0, 11, 100.0),
    ("reporter-audio-early-80ms.mp4", -80.0, 8.0, 12, 100.0),
    ("guest-in-sync.mp4", 0.0, 8.0, 13, 100.0),
    ("cutaway-too-short.mp4", 0.0, 1.5, 14, 100.0),
    ("b-roll-at-200-percent.mp4", 0.0, 4.0, 15, 200.0),
)
GAP_FRAMES = 25


def demo_resolve(folder: Path, progress: ProgressFn = no_progress) -> FakeResolve:
    """A fake Resolve 21.1 with the demo timeline ("Demo interview", 25 fps) current; clips made in ``folder``
    once and reused."""
    folder.mkdir(parents=True, exist_ok=True)
    resolve = FakeResolve("21.1", frame_rate="25")
    resolve.GetProjectManager().GetCurrentProject().GetMediaPool().CreateEmptyTimeline("Demo interview")
    record = 0
    for number, (name, offset_ms, seconds, seed, speed) in enumerate(DEMO_CLIPS):
        progress(number / len(DEMO_CLIPS), f"making {name}")
        path = folder / name
        if not path.exists():
            synthesize(path, offset_ms=offset_ms, duration_s=seconds, seed=seed)
        items = place_clip(resolve, str(path), record)
        if speed != 100.0:
            for item in items:
                item.retime(speed)
        record += int(items[0].GetEnd() - items[0].GetStart()) + GAP_FRAMES
    return resolve
