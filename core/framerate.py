"""Frame rates as exact fractions: reading one as people and Resolve write it, and the standard rates.

A float 23.976 is 1 ppm off 24000/1001 and drifts by a frame within a few hours of timeline, so every rate
is a :class:`fractions.Fraction` from the moment it is read.
"""

from __future__ import annotations

import math
from fractions import Fraction

__all__ = ["STANDARD_FPS", "nearest_standard_fps", "parse_fps"]

# The rates pictures are delivered at: film, PAL and NTSC, and their doubles.
STANDARD_FPS = (Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30),
                Fraction(48000, 1001), Fraction(48), Fraction(50), Fraction(60000, 1001), Fraction(60))
# The NTSC family: nominal integer rates that really run 1000/1001 slower.
_NTSC_NOMINAL = (24, 30, 48, 60, 96, 120)
# NTSC rates are printed to two or three decimals (23.98, 23.976, 29.97, 59.94): all within this of the fraction.
_NTSC_PRINTED = Fraction(1, 200)


def parse_fps(value: str | float | Fraction, *, lowest: float = 0.0, highest: float = math.inf) -> Fraction:
    """An exact frame rate from ``"25"``, ``"29.97"``, ``"23.98"``, ``"30000/1001"``, ``59.94`` or a Fraction.

    The NTSC rates' decimals become ``n * 1000/1001``; anything else is the exact decimal it prints as.

    Raises
    ------
    ValueError
        Not a number or a ratio, not positive, or outside ``lowest`` to ``highest`` fps.
    """
    try:
        rate = value if isinstance(value, Fraction) else Fraction(str(value).strip())
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"not a frame rate: {value!r} (write it as 25, 29.97 or 30000/1001)") from None
    if rate <= 0 or not lowest <= rate <= highest:
        span = f"{lowest:g} to {highest:g} fps" if math.isfinite(highest) else "positive"
        raise ValueError(f"frame rate {value} is out of range: it must be {span}")
    for nominal in _NTSC_NOMINAL:
        ntsc = Fraction(nominal * 1000, 1001)
        if rate != nominal and abs(rate - ntsc) < _NTSC_PRINTED:
            return ntsc
    return rate


def nearest_standard_fps(fps: float) -> Fraction:
    """The standard rate (:data:`STANDARD_FPS`) closest to a measured ``fps``."""
    if not fps > 0:
        raise ValueError("the measured frame rate must be positive")
    return min(STANDARD_FPS, key=lambda rate: abs(float(rate) - fps))
