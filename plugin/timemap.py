"""Exact time arithmetic between timeline frames, source frames and media seconds.

Resolve counts in integer frames at rates such as 24000/1001, so every conversion here is rational
(:class:`fractions.Fraction`): a float frame rate of 23.976 is off by 1 ppm and drifts by a frame
within a few hours of timeline, which is well inside a feature film. Callers round only at the edge,
where a frame number goes back to Resolve.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

from core.framerate import parse_fps

__all__ = ["FrameRate", "ItemTiming", "frames_to_seconds", "frames_to_timecode", "parse_frame_rate", "parse_rate",
           "round_half_away", "seconds_to_frames", "timecode_to_frames"]



@dataclass(frozen=True)
class FrameRate:
    """A frame rate as an exact fraction, with the drop-frame timecode flag (29.97 and 59.94 only)."""

    rate: Fraction
    drop_frame: bool = False

    @property
    def nominal(self) -> int:
        """The integer frame count per timecode second (30 for 29.97)."""
        return math.ceil(self.rate)

    @property
    def frame_ms(self) -> Fraction:
        """The duration of one frame in milliseconds."""
        return 1000 / self.rate

    def __str__(self) -> str:
        text = f"{float(self.rate):.3f}".rstrip("0").rstrip(".")
        return text + (" DF" if self.drop_frame else "")


def parse_rate(value: str | float | int | Fraction) -> Fraction:
    """An exact frame rate from Resolve's spelling of it (``"23.976"``, ``"29.97 DF"``, ``25``): the rate
    :func:`core.framerate.parse_fps` reads once a drop-frame suffix is taken off.

    Raises
    ------
    ValueError
        Not a positive number.
    """
    return parse_fps(str(value).upper().replace("NDF", "").replace("DF", "").strip())


def parse_frame_rate(setting: str | float, drop_frame_setting: str | int | bool | None = None) -> FrameRate:
    """The timeline's frame rate from ``GetSetting("timelineFrameRate")`` (e.g. ``"29.97 DF"``).

    ``drop_frame_setting`` is ``GetSetting("timelineDropFrameTimecode")`` ("0"/"1") where the version
    has it; a ``DF`` suffix on the rate also turns drop frame on. Drop frame only exists at 29.97 and
    59.94, so it is ignored at other rates.
    """
    rate = parse_rate(setting)
    flag = "DF" in str(setting).upper().replace("NDF", "")
    if drop_frame_setting is not None and str(drop_frame_setting).strip() not in ("", "0", "False", "false"):
        flag = True
    return FrameRate(rate, flag and rate.denominator == 1001 and rate.numerator % 30000 == 0)


def frames_to_seconds(frames: int | Fraction, rate: Fraction) -> Fraction:
    """Seconds spanned by ``frames`` frames at ``rate`` frames per second."""
    return Fraction(frames) / rate


def seconds_to_frames(seconds: Fraction | int, rate: Fraction) -> Fraction:
    """Frames (exact, possibly fractional) spanned by ``seconds`` at ``rate``."""
    return Fraction(seconds) * rate


def round_half_away(value: Fraction | float) -> int:
    """Round to the nearest integer, halves away from zero (so +0.5 and -0.5 frames are symmetric)."""
    value = Fraction(value)
    magnitude = math.floor(abs(value) + Fraction(1, 2))
    return magnitude if value >= 0 else -magnitude


@dataclass(frozen=True)
class ItemTiming:
    """Where one timeline item sits and which part of its media it plays, at 100 % speed.

    ``record_start`` and ``record_end`` are absolute timeline frames (``end`` exclusive);
    ``source_in`` is the first source frame played, counted from the start of the media at ``clip_rate``.
    """

    record_start: int
    record_end: int
    source_in: Fraction
    timeline_rate: Fraction
    clip_rate: Fraction

    @property
    def record_frames(self) -> int:
        return self.record_end - self.record_start

    @property
    def source_out(self) -> Fraction:
        """The source frame just after the last one played (exclusive)."""
        return self.record_to_source(self.record_end)

    def record_to_source(self, record_frame: int | Fraction) -> Fraction:
        """The source frame (exact) that plays at timeline frame ``record_frame``."""
        return self.source_in + (Fraction(record_frame) - self.record_start) * self.clip_rate / self.timeline_rate

    def source_to_record(self, source_frame: int | Fraction) -> Fraction:
        """The timeline frame (exact) at which source frame ``source_frame`` plays."""
        return self.record_start + (Fraction(source_frame) - self.source_in) * self.timeline_rate / self.clip_rate

    def source_to_seconds(self, source_frame: int | Fraction) -> Fraction:
        """Media seconds (from the start of the media) of source frame ``source_frame``."""
        return frames_to_seconds(source_frame, self.clip_rate)

    def seconds_to_source(self, media_s: Fraction | int) -> Fraction:
        """The source frame (exact) at media second ``media_s``."""
        return seconds_to_frames(media_s, self.clip_rate)

    def record_to_seconds(self, record_frame: int | Fraction) -> Fraction:
        """Media seconds played at timeline frame ``record_frame``."""
        return self.source_to_seconds(self.record_to_source(record_frame))

    def seconds_to_record(self, media_s: Fraction | int) -> Fraction:
        """The timeline frame (exact) at which media second ``media_s`` plays."""
        return self.source_to_record(self.seconds_to_source(media_s))

    @property
    def media_in_s(self) -> Fraction:
        return self.source_to_seconds(self.source_in)

    @property
    def media_out_s(self) -> Fraction:
        return self.source_to_seconds(self.source_out)


_TC = re.compile(r"^(\d+):(\d{2}):(\d{2})([:;.,])(\d{2,3})$")


def _drop_per_minute(fr: FrameRate) -> int:
    # 2 frame numbers dropped per minute at 29.97, 4 at 59.94 (every minute except each tenth).
    return 2 * fr.nominal // 30


def frames_to_timecode(frame: int, fr: FrameRate) -> str:
    """Timecode text of absolute frame ``frame`` ("HH:MM:SS:FF", or with ";" for drop frame). For display only."""
    if frame < 0:
        raise ValueError("timecode of a negative frame")
    nominal = fr.nominal
    if fr.drop_frame:
        drop = _drop_per_minute(fr)
        per_10min = nominal * 600 - drop * 9
        per_min = nominal * 60 - drop
        tens, rest = divmod(frame, per_10min)
        extra = 0 if rest < drop else drop * ((rest - drop) // per_min)
        frame = frame + drop * 9 * tens + extra
    ff = frame % nominal
    total_s = frame // nominal
    sep = ";" if fr.drop_frame else ":"
    return f"{total_s // 3600:02d}:{total_s // 60 % 60:02d}:{total_s % 60:02d}{sep}{ff:02d}"


def timecode_to_frames(text: str, fr: FrameRate) -> int:
    """Absolute frame number of timecode ``text`` at ``fr`` (drop frame when ``fr`` says so or ";" is used).

    Raises
    ------
    ValueError
        Malformed timecode, or a frame label that drop frame skips.
    """
    match = _TC.match(text.strip())
    if not match:
        raise ValueError(f"not a timecode: {text!r}")
    hh, mm, ss, sep, ff = match.groups()
    h, m, s, f = int(hh), int(mm), int(ss), int(ff)
    nominal = fr.nominal
    if m > 59 or s > 59 or f >= nominal:
        raise ValueError(f"not a timecode at {fr}: {text!r}")
    frames = ((h * 60 + m) * 60 + s) * nominal + f
    if fr.drop_frame or sep in ";,":
        drop = _drop_per_minute(FrameRate(fr.rate, True))
        if s == 0 and f < drop and m % 10 != 0:
            raise ValueError(f"{text!r} does not exist in drop-frame timecode")
        total_minutes = h * 60 + m
        frames -= drop * (total_minutes - total_minutes // 10)
    return frames
