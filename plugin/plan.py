"""Plain data read from a Resolve timeline, and the pure decisions about what to do with each clip.

Nothing here touches Resolve: :mod:`plugin.timeline` turns Resolve objects into these records,
asks :func:`decide` what to do, and applies the answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

from core.model import SpliceInRange, SyncResult, speed_ratio
from core.settings import STRATEGIES
from core.tolerance import Tolerance
from plugin.timemap import FrameRate, ItemTiming, round_half_away

__all__ = ["AudioRef", "ClipRef", "Decision", "SlipEdit", "Sound", "TimelineInfo", "decide",
           "plan_slip", "timeline_lag_ms"]

Strategy = Literal["auto", "slip", "conform", "speed"]
Action = Literal["none", "slip", "conform", "speed"]


@dataclass(frozen=True)
class TimelineInfo:
    """The facts of a timeline that the arithmetic needs. ``start_frame`` is absolute (86400 for 01:00:00:00 at 24p)."""

    name: str
    unique_id: str
    frame_rate: FrameRate
    start_frame: int
    start_timecode: str = ""


@dataclass(frozen=True)
class Sound:
    """Where an audio item's sound comes from, decided from the media, not from how items are linked.

    ``own``: the picture's media plays its own embedded channels, measured against its lips in the media.
    ``linked``: the picture's media plays a file Auto Sync Audio linked to it ("Synced Audio").
    ``foreign``: another media pool item (a recorder's WAV, double-system sound). Linked and foreign sound is
    measured against the lips on the timeline, where the editor hears it.
    ``path`` is the file heard, ``channels`` its channels the item plays (0-based; empty for all of them),
    ``track_type`` the layout the item plays (mono, stereo, 5.1...), and ``file_offset_s`` what to add to
    the item's media seconds to get the file's seconds (a linked file's offset).
    """

    kind: Literal["own", "linked", "foreign"] = "own"
    path: str = ""
    channels: tuple[int, ...] = ()
    track_type: str = ""
    file_offset_s: Fraction = Fraction(0)

    @property
    def on_timeline(self) -> bool:
        return self.kind != "own"


@dataclass(frozen=True)
class AudioRef:
    """One audio item linked to (or, unlinked, under) a talking-head clip's picture.

    ``source_in`` counts source frames from the start of the item's own media at ``clip_rate`` (the picture's
    rate when None); ``record_end`` is exclusive; ``media_frames`` is the length of that media (the picture's
    when None).
    """

    item_id: str
    track_index: int
    record_start: int
    record_end: int
    source_in: Fraction
    enabled: bool = True
    color: str = ""
    sound: Sound = field(default_factory=Sound)
    media_id: str = ""
    clip_rate: Fraction | None = None
    media_frames: int | None = None


@dataclass(frozen=True)
class ClipRef:
    """A talking-head clip: a video item whose media has picture and sound, with the audio items that play it."""

    name: str
    video_item_id: str
    video_track_index: int
    record_start: int
    record_end: int
    source_in: Fraction
    media_path: str
    media_id: str
    clip_rate: Fraction
    timeline_rate: Fraction
    media_frames: int | None = None
    sample_rate: int | None = None
    audio: tuple[AudioRef, ...] = field(default_factory=tuple)
    color: str = ""

    @property
    def timing(self) -> ItemTiming:
        return ItemTiming(self.record_start, self.record_end, self.source_in, self.timeline_rate, self.clip_rate)

    def audio_timing(self, audio: AudioRef) -> ItemTiming:
        return ItemTiming(audio.record_start, audio.record_end, audio.source_in, self.timeline_rate,
                          audio.clip_rate or self.clip_rate)

    def sounds(self) -> list[tuple[AudioRef, ...]]:
        """The clip's audio items grouped by what they play: its own channels together (corrected as one),
        each linked or foreign item on its own (measured on the timeline, item by item)."""
        own = tuple(a for a in self.audio if not a.sound.on_timeline)
        return ([own] if own else []) + [(a,) for a in self.audio if a.sound.on_timeline]


@dataclass(frozen=True)
class Decision:
    """What to do with one clip, and why.

    ``offset_in_ms``/``offset_out_ms`` are the offsets heard on the timeline where the clip's used range
    starts and ends (positive = audio late): the measurement of the media plus ``timeline_lag_ms``.
    ``slip_frames`` is how many timeline frames the audio moves earlier;
    ``residual_ms`` is the offset left at the in and out points after a slip of that many frames (and, for
    ``speed``, once the audio plays ``speed_ratio`` times as fast).
    """

    action: Action
    reason: str
    offset_in_ms: float | None = None
    offset_out_ms: float | None = None
    drift_ms_per_min: float = 0.0
    timeline_lag_ms: float = 0.0
    slip_frames: int = 0
    residual_ms: tuple[float, float] | None = None
    speed_ratio: float = 1.0
    check: bool = False


def timeline_lag_ms(clip: ClipRef, audio: AudioRef | None = None) -> float:
    """How much later (ms) ``audio`` (the clip's first audio item by default) plays each moment of the media
    than the picture does, from where the two items sit on the timeline: 0 for a clip as it was edited in,
    minus the slip once slipped.

    The measurement is of the media file; what the editor hears is the measurement plus this lag, so a
    clip already slipped (by hand or by an earlier run) is not slipped again. Only sound from the picture's
    own media has a lag: another file's clock has nothing to do with the picture's.
    """
    audio = audio or (clip.audio[0] if clip.audio else None)
    if audio is None or audio.sound.on_timeline:
        return 0.0
    picture, sound = clip.timing, clip.audio_timing(audio)
    lag_frames = sound.seconds_to_record(picture.media_in_s) - picture.record_start
    return float(lag_frames * 1000 / clip.timeline_rate)


def decide(clip: ClipRef, sync: SyncResult, *, strategy: Strategy, tolerance: Tolerance,
           speed_available: bool, group: tuple[AudioRef, ...] | None = None) -> Decision:
    """Choose the fix for one sound of a clip (``group``, by default its first) from its measurement.

    The correction is the one for the media range the picture uses (each stretch of a spliced file has its
    own). Sound of the picture's own media adds where its items sit on the timeline; sound measured on the
    timeline already includes it. ``auto`` does nothing when the sound is in sync or the measurement
    inconclusive (flagging own sound that sits off its picture for a look), slips by whole frames when that
    leaves the offset within ``tolerance`` over the whole used range, sets the speed (plus a whole-frame
    slip) for drift where Resolve offers a speed property, and otherwise conforms (renders corrected audio).
    ``speed`` falls back to conform when Resolve has no speed property, when there is no drift, or when a
    sub-frame rest outside ``tolerance`` would remain. A forced strategy is applied whenever the sound is
    measurably out of sync.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    group = group or (clip.sounds() or [()])[0]
    timing = clip.timing
    lag = timeline_lag_ms(clip, group[0]) if group else 0.0
    fps = float(clip.timeline_rate)
    try:
        correction = sync.correction(float(timing.media_in_s), float(timing.media_out_s))
    except SpliceInRange as exc:
        return Decision("none", f"not changed: the clip's {exc}; cut it there to correct each side",
                        timeline_lag_ms=lag)
    if correction is None:
        reason = f"measurement inconclusive: {sync.reason or 'no reason given'}"
        if not tolerance.accepts(lag, fps):
            frames = round_half_away(lag * fps / 1000.0)
            reason += (f"; its sound sits {abs(frames)} frame(s) {'after' if lag > 0 else 'before'} its picture on "
                       "the timeline (moved by hand, or out of sync): check it by eye")
            return Decision("none", reason, timeline_lag_ms=lag, check=True)
        return Decision("none", reason, timeline_lag_ms=lag)
    drift = correction.drift_ms_per_min
    off_in = correction.offset_at_ms(timing.media_in_s) + lag
    off_out = correction.offset_at_ms(timing.media_out_s) + lag
    base = {"offset_in_ms": off_in, "offset_out_ms": off_out, "drift_ms_per_min": drift, "timeline_lag_ms": lag}
    if tolerance.accepts(off_in, fps) and tolerance.accepts(off_out, fps):
        return Decision("none", f"in sync within the {tolerance.name} tolerance", **base)
    frame_ms = float(1000 / clip.timeline_rate)
    # One whole-frame shift for the whole range: the one that best fits its middle.
    frames = round_half_away((off_in + off_out) / 2 / frame_ms)
    residual = (off_in - frames * frame_ms, off_out - frames * frame_ms)
    slip_fits = all(tolerance.accepts(r, fps) for r in residual)
    slip = {"slip_frames": frames, "residual_ms": residual}
    if strategy == "slip" or (strategy == "auto" and slip_fits):
        if frames == 0:
            return Decision("none", "the offset is under half a frame: a whole-frame slip cannot reduce it; "
                                    "use conform", **base)
        reason = f"audio {'late' if frames > 0 else 'early'} by {abs(frames)} frame(s)"
        if not slip_fits:
            reason += (f"; {max(abs(r) for r in residual):.1f} ms remains outside the {tolerance.name} tolerance "
                       "after a whole-frame slip (sub-frame offset or drift): use conform")
        return Decision("slip", reason, **base, **slip)
    wants_speed = strategy == "speed" or (strategy == "auto" and speed_available and drift != 0.0)
    if not wants_speed:
        return Decision("conform", "sub-frame offset or drift: corrected audio rendered", **base, **slip)
    if not speed_available:
        return Decision("conform", "sub-frame offset or drift: corrected audio rendered (this Resolve offers no "
                                   "speed property, so the audio was rendered instead)", **base, **slip)
    if drift == 0.0:
        return Decision("conform", "no drift for a speed change to remove, and the sub-frame offset needs a render: "
                                   "corrected audio rendered", **base, **slip)
    return _speed_or_conform(drift, off_in, frame_ms, fps, tolerance, base, slip)


def _speed_or_conform(drift: float, off_in: float, frame_ms: float, fps: float, tolerance: Tolerance,
                      base: dict[str, float], slip: dict[str, object]) -> Decision:
    """Speed the audio up by the drift's ratio, slip it by whole frames, or render when a sub-frame rest remains.

    Resolve's speed is anchored at the audio item's first frame, so the speed change leaves the offset of
    the in point, shrunk by the ratio, constant over the whole clip; a whole-frame slip takes what it can
    of that. Slipped in the source (see :func:`plan_slip`) the rest is exactly ``(off_in - frames * frame) /
    ratio``; moved on the timeline it is ``off_in / ratio - frames * frame``, which differs by
    ``frames * frame * (1 - 1 / ratio)`` (about 1 ms for 4 frames at 1 % speed).
    """
    ratio = speed_ratio(drift)
    frames = round_half_away(off_in / frame_ms)
    rest = (off_in - frames * frame_ms) / ratio
    if not tolerance.accepts(rest, fps):
        return Decision("conform", f"a speed change of x{ratio:.6f} and a {frames:+d}-frame slip would leave "
                                   f"{rest:.1f} ms, outside the {tolerance.name} tolerance: corrected audio rendered",
                        **base, **slip)
    return Decision("speed", f"drift {drift:+.1f} ms/min: audio speed x{ratio:.6f}"
                             + (f" and a {frames:+d}-frame slip" if frames else ""),
                    **base, slip_frames=frames, residual_ms=(rest, rest), speed_ratio=ratio)


@dataclass(frozen=True)
class SlipEdit:
    """Where an audio item goes after a whole-frame slip: its new record start and source in point."""

    record_start: int
    record_end: int
    source_in: int
    source_out: int
    kind: Literal["slip", "move"]


def plan_slip(clip: ClipRef, audio: AudioRef, frames: int, timeline_start: int) -> SlipEdit:
    """The new placement of ``audio`` once it plays ``frames`` timeline frames earlier.

    Slipping the source in point (same record range, the content shifted) is preferred: the sound
    keeps the picture's cut points, so it cannot collide with its neighbours and nothing hangs
    before or after the picture. That needs whole source frames and enough media beyond the used
    range; otherwise the item is moved on the timeline (record range shifted, same content), and
    trimmed at the head rather than placed before ``timeline_start``, where Resolve plays nothing.

    Raises
    ------
    ValueError
        The item's source range is not whole frames (Resolve only accepts integer frames).
    """
    timing = clip.audio_timing(audio)
    rate = audio.clip_rate or clip.clip_rate
    media_frames = audio.media_frames if audio.sound.kind == "foreign" else clip.media_frames
    shift = Fraction(frames) * rate / clip.timeline_rate
    if timing.source_in.denominator != 1:
        raise ValueError("the audio item's source in point is not a whole source frame")
    # Resolve floors a source span into timeline frames, so the fewest source frames that fill the record range.
    src_in, src_out = timing.source_in, timing.source_in + math.ceil(timing.source_out - timing.source_in)
    new_in, new_out = src_in + shift, src_out + shift
    has_room = new_in >= 0 and (media_frames is None or new_out <= media_frames)
    if shift.denominator == 1 and has_room and media_frames is not None:
        return SlipEdit(audio.record_start, audio.record_end, int(new_in), int(new_out), "slip")
    record_start, record_end = audio.record_start - frames, audio.record_end - frames
    if record_start < timeline_start:
        # At mixed rates the trim is rounded up to whole source frames (under one source frame more).
        src_in += math.ceil(Fraction(timeline_start - record_start) * rate / clip.timeline_rate)
        record_start = timeline_start
    return SlipEdit(record_start, record_end, int(src_in), int(src_out), "move")
