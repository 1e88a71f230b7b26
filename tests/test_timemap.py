"""Exact frame/second mapping at the rates Resolve timelines use, including drop frame and long timelines."""

from __future__ import annotations

from fractions import Fraction

import pytest

from plugin.timemap import (
    FrameRate,
    ItemTiming,
    frames_to_timecode,
    parse_frame_rate,
    parse_rate,
    round_half_away,
    timecode_to_frames,
)

NTSC_FILM = Fraction(24000, 1001)
NTSC_VIDEO = Fraction(30000, 1001)


@pytest.mark.parametrize(("text", "expected"), [
    ("23.976", NTSC_FILM), (23.976, NTSC_FILM), ("23.98", NTSC_FILM), ("29.97", NTSC_VIDEO),
    ("59.94", Fraction(60000, 1001)), ("47.952", Fraction(48000, 1001)), ("119.88", Fraction(120000, 1001)),
    ("24", Fraction(24)), ("25", Fraction(25)), ("50", Fraction(50)), (30.0, Fraction(30)),
    ("22.131", Fraction(22131, 1000)), ("29.97 DF", NTSC_VIDEO), ("29.97 NDF", NTSC_VIDEO),
])
def test_parse_rate_is_exact(text, expected):
    assert parse_rate(text) == expected


@pytest.mark.parametrize("bad", ["", "abc", "0", "-25"])
def test_parse_rate_rejects_nonsense(bad):
    with pytest.raises(ValueError):
        parse_rate(bad)


def test_drop_frame_only_at_29_97_and_59_94():
    assert parse_frame_rate("29.97 DF").drop_frame
    assert parse_frame_rate("29.97", "1").drop_frame
    assert not parse_frame_rate("29.97", "0").drop_frame
    assert parse_frame_rate("59.94", "1").drop_frame
    assert not parse_frame_rate("25", "1").drop_frame
    assert not parse_frame_rate("23.976", "1").drop_frame
    assert str(parse_frame_rate("29.97 DF")) == "29.97 DF"


@pytest.mark.parametrize(("rate", "clip_rate"), [
    (NTSC_FILM, NTSC_FILM), (NTSC_VIDEO, NTSC_VIDEO), (Fraction(25), Fraction(25)), (Fraction(50), Fraction(50)),
    (Fraction(25), Fraction(50)), (NTSC_FILM, Fraction(24)),
])
def test_round_trip_is_exact_on_a_long_timeline(rate, clip_rate):
    timing = ItemTiming(record_start=1_000_000, record_end=1_000_500, source_in=Fraction(123_457),
                        timeline_rate=rate, clip_rate=clip_rate)
    for record in (1_000_000, 1_000_001, 1_000_499, 1_000_500):
        source = timing.record_to_source(record)
        assert timing.source_to_record(source) == record
        assert timing.seconds_to_record(timing.record_to_seconds(record)) == record
    # One timeline frame further plays exactly clip_rate/rate source frames further.
    assert timing.record_to_source(1_000_001) - timing.record_to_source(1_000_000) == clip_rate / rate
    assert timing.source_out == 123_457 + 500 * clip_rate / rate


def test_media_seconds_at_23_976_frame_one_million_do_not_drift():
    timing = ItemTiming(0, 2_000_000, Fraction(0), NTSC_FILM, NTSC_FILM)
    seconds = timing.record_to_seconds(1_000_000)
    assert seconds == Fraction(1_000_000 * 1001, 24000)
    # A float 23.976 would be 1_000_000/23.976 = 41708.375 s, 43.3 ms (about one frame) off.
    assert abs(float(seconds) - 1_000_000 / 23.976) > 0.04
    assert timing.seconds_to_source(seconds) == 1_000_000


def test_round_half_away_is_symmetric():
    assert [round_half_away(v) for v in (0.5, 1.5, 2.5, -0.5, -1.5, 0.49, -0.49)] == [1, 2, 3, -1, -2, 0, 0]
    assert round_half_away(Fraction(7, 2)) == 4


@pytest.mark.parametrize(("tc", "frames", "fr"), [
    ("01:00:00;00", 107_892, FrameRate(NTSC_VIDEO, True)),
    ("00:01:00;02", 1800, FrameRate(NTSC_VIDEO, True)),
    ("00:00:59;29", 1799, FrameRate(NTSC_VIDEO, True)),
    ("00:10:00;00", 17_982, FrameRate(NTSC_VIDEO, True)),
    ("01:00:00;00", 215_784, FrameRate(Fraction(60000, 1001), True)),
    ("01:00:00:00", 86_400, FrameRate(NTSC_FILM)),
    ("01:00:00:00", 90_000, FrameRate(Fraction(25))),
    ("01:00:00:00", 180_000, FrameRate(Fraction(50))),
    ("10:00:00:00", 1_080_000, FrameRate(NTSC_VIDEO)),
])
def test_timecode_both_ways(tc, frames, fr):
    assert timecode_to_frames(tc, fr) == frames
    assert frames_to_timecode(frames, fr) == tc


def test_drop_frame_timecode_round_trips_over_a_day_of_frames():
    fr = FrameRate(NTSC_VIDEO, True)
    for frame in [*range(0, 20_000, 7), 1_000_000, 2_589_407]:
        assert timecode_to_frames(frames_to_timecode(frame, fr), fr) == frame


def test_dropped_labels_are_refused():
    with pytest.raises(ValueError, match="does not exist"):
        timecode_to_frames("00:01:00;00", FrameRate(NTSC_VIDEO, True))
    with pytest.raises(ValueError):
        timecode_to_frames("00:00:00:25", FrameRate(Fraction(25)))
