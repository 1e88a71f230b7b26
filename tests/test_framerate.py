"""Frame rates read exactly, wherever they come from (the command line, the generator, Resolve)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from core.framerate import nearest_standard_fps, parse_fps


@pytest.mark.parametrize(("value", "expected"), [
    ("29.97", Fraction(30000, 1001)), ("23.976", Fraction(24000, 1001)), ("23.98", Fraction(24000, 1001)),
    (23.976, Fraction(24000, 1001)), ("59.94", Fraction(60000, 1001)), ("47.952", Fraction(48000, 1001)),
    ("119.88", Fraction(120000, 1001)), ("30000/1001", Fraction(30000, 1001)), (Fraction(24000, 1001),
                                                                               Fraction(24000, 1001)),
    ("25", 25), (25, 25), (30.0, 30), ("50", 50), ("12.5", Fraction(25, 2)), ("22.131", Fraction(22131, 1000)),
])
def test_frame_rates_parse_exactly_and_ntsc_decimals_become_their_fraction(value, expected):
    assert parse_fps(value) == expected


@pytest.mark.parametrize("bad", ["", "abc", "fast", "0", "-5", "1/0", "-25"])
def test_what_is_not_a_positive_rate_is_refused(bad):
    with pytest.raises(ValueError):
        parse_fps(bad)


def test_a_caller_bounds_the_rates_it_takes():
    assert parse_fps("240", highest=240) == 240
    with pytest.raises(ValueError, match="must be 0 to 240 fps"):
        parse_fps("1000", highest=240)
    with pytest.raises(ValueError, match="must be 1 to 120 fps"):
        parse_fps("0.5", lowest=1, highest=120)


def test_the_nearest_standard_rate_to_a_measured_one():
    assert nearest_standard_fps(22.09) == Fraction(24000, 1001)
    assert nearest_standard_fps(29.95) == Fraction(30000, 1001)
    assert nearest_standard_fps(49.6) == 50
    with pytest.raises(ValueError):
        nearest_standard_fps(0.0)
