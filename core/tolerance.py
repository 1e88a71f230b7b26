"""Lip-sync tolerance presets: how far the audio may be early or late before it counts as out of sync.

Limits are in the project's sign convention: ``late_ms`` bounds a positive offset (audio after the
lips), ``early_ms`` bounds a negative one (audio before the lips), both given as positive numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PRESETS", "PRESET_NAMES", "Tolerance", "parse_tolerance"]

PRESET_NAMES = ("broadcast", "ebu-r37", "itu-bt1359", "custom:EARLY_MS:LATE_MS")


@dataclass(frozen=True)
class Tolerance:
    """A named pair of limits; ``None`` limits mean "one frame at the clip's rate"."""

    name: str
    early_ms: float | None
    late_ms: float | None

    def limits_ms(self, fps: float) -> tuple[float, float]:
        """(early, late) limits in ms for a clip at ``fps`` frames per second."""
        frame_ms = 1000.0 / fps if fps and fps > 0 else 40.0
        return (self.early_ms if self.early_ms is not None else frame_ms,
                self.late_ms if self.late_ms is not None else frame_ms)

    def accepts(self, offset_ms: float, fps: float) -> bool:
        """Whether a measured offset is within tolerance."""
        early, late = self.limits_ms(fps)
        return -early <= offset_ms <= late


PRESETS = {
    # Within one frame either way: the strictest common delivery rule (Netflix flags one frame or more).
    "broadcast": Tolerance("broadcast", None, None),
    # EBU R37: audio no more than 40 ms before or 60 ms after the picture.
    "ebu-r37": Tolerance("ebu-r37", 40.0, 60.0),
    # ITU-R BT.1359 detectability: 45 ms audio lead, 125 ms audio lag.
    "itu-bt1359": Tolerance("itu-bt1359", 45.0, 125.0),
}


def parse_tolerance(text: str) -> Tolerance:
    """Turn a preset name, or ``custom:EARLY_MS:LATE_MS``, into a :class:`Tolerance`.

    Raises
    ------
    ValueError
        For an unknown name or a malformed custom pair.
    """
    key = text.strip().lower()
    if key in PRESETS:
        return PRESETS[key]
    if key.startswith("custom:"):
        try:
            early, late = (float(v) for v in key.split(":")[1:3])
        except ValueError:
            raise ValueError(f"custom tolerance must be custom:EARLY_MS:LATE_MS, not {text!r}") from None
        if early < 0 or late < 0:
            raise ValueError("custom tolerance limits are positive milliseconds")
        return Tolerance(key, early, late)
    raise ValueError(f"unknown tolerance {text!r}; choose one of {', '.join(PRESET_NAMES)}")
