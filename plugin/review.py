"""What the editor reviews before anything changes: one row per timeline item, with the evidence behind it.

Plain data built from a :class:`plugin.timeline.TimelineMeasurement` (no Qt, no Resolve calls), so the panel
shows it, the tests check it and the export writes it from one place. Offsets are as the editor hears them on
the timeline (the media's measurement plus where the items sit), in ms and in timeline frames; the plot's
window estimates and fitted line are on the same footing, over the clip's media seconds.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from core.model import SyncResult
from core.tolerance import Tolerance
from plugin.plan import ClipRef, TimelineInfo
from plugin.timeline import MeasuredClip, TimelineMeasurement, clip_key
from plugin.timemap import frames_to_timecode, round_half_away

__all__ = ["CSV_COLUMNS", "ClipReview", "Moment", "OffsetLine", "review_rows", "rows_to_csv", "with_outcomes"]


@dataclass(frozen=True)
class Moment:
    """A moment to check the lips by eye: where it is in the media and on the timeline, and what it shows.

    ``timecode`` is empty when the moment lies outside the part of the media the timeline uses.
    """

    media_s: float
    timecode: str
    event: str
    offset_ms: float


@dataclass(frozen=True)
class OffsetLine:
    """The fitted offset over one stretch of the media: ``offset_ms`` at ``start_s`` plus the drift after it."""

    start_s: float
    end_s: float
    offset_ms: float
    drift_ms_per_min: float

    def at(self, media_s: float) -> float:
        return self.offset_ms + self.drift_ms_per_min * (media_s - self.start_s) / 60.0


@dataclass(frozen=True)
class ClipReview:
    """One row of the review: a timeline item, what was measured and what LipAlign would do with it.

    ``offset_ms``/``offset_frames`` are heard on the timeline at the clip's in point (None when nothing was
    read); for a withheld measurement they are its best reading. ``ticked`` is the default choice, ``tickable``
    whether ticking it could change anything. ``windows`` are (media second, offset ms, confidence) per window,
    ``lines`` the fitted offset (one per stretch of a spliced file), ``used_s`` the media range on the timeline,
    ``band_ms`` the tolerance (-early, +late). After an apply, ``action`` and ``outcome`` say what was done.
    """

    key: str
    clip: str
    track: str
    audio_tracks: tuple[str, ...]
    record_in: int
    record_out: int
    timecode_in: str
    timecode_out: str
    offset_ms: float | None
    offset_frames: float | None
    drift_ms_per_min: float | None
    confidence: float | None
    verdict: str
    planned: str
    reason: str
    ticked: bool
    tickable: bool
    windows: tuple[tuple[float, float, float], ...] = ()
    lines: tuple[OffsetLine, ...] = ()
    used_s: tuple[float, float] | None = None
    band_ms: tuple[float, float] = (-40.0, 40.0)
    moments: tuple[Moment, ...] = ()
    action: str = ""
    outcome: str = ""
    new_item_ids: tuple[str, ...] = field(default_factory=tuple)


def review_rows(measured: TimelineMeasurement) -> list[ClipReview]:
    """Every row of the review: each measured clip, each clip left unmeasured by a Cancel, each skipped item."""
    info = measured.session.info
    ticks = measured.default_ticks()
    rows = [_clip_row(m, info, measured.tolerance, m.key in ticks) for m in measured.clips]
    done = {m.key for m in measured.clips}
    for clip in measured.reading.clips:
        if clip_key(clip) not in done:
            rows.append(_unmeasured_row(clip, info, measured.tolerance))
    rows.extend(_skipped_row(s, info) for s in measured.reading.skipped)
    return rows


def with_outcomes(rows: list[ClipReview], summary: dict[str, Any]) -> list[ClipReview]:
    """The rows once a run's summary says what was done to each clip (matched by where it sits)."""
    done = {clip["key"]: clip for clip in summary.get("clips", [])}
    updated = []
    for row in rows:
        entry = done.get(row.key)
        if entry is None:
            updated.append(row)
            continue
        updated.append(replace(row, action=entry["action"], outcome=entry["outcome"], reason=entry["reason"],
                               new_item_ids=tuple(entry.get("new_item_ids", []))))
    return updated


CSV_COLUMNS = ("clip", "track", "audio_tracks", "timecode_in", "timecode_out", "offset_ms", "offset_frames",
               "drift_ms_per_min", "confidence", "verdict", "planned", "ticked", "action", "outcome", "reason")


def rows_to_csv(rows: list[ClipReview]) -> str:
    """The review as CSV: one row per timeline item, the columns of :data:`CSV_COLUMNS`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        values = {"audio_tracks": " ".join(row.audio_tracks), "ticked": "yes" if row.ticked else "no"}
        writer.writerow([_cell(values.get(name, getattr(row, name))) for name in CSV_COLUMNS])
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)


def _timecode(frame: int, info: TimelineInfo) -> str:
    return frames_to_timecode(frame, info.frame_rate) if frame >= 0 else ""


def _clip_row(measured: MeasuredClip, info: TimelineInfo, tolerance: Tolerance, ticked: bool) -> ClipReview:
    clip = measured.clip
    first = next((s for s in measured.sounds if s.sync is not None), None)
    sync, decision = (first.sync, first.decision) if first else (None, measured.sounds[0].decision)
    frame_ms = 1000.0 / float(clip.timeline_rate)
    lag = decision.timeline_lag_ms
    offset = decision.offset_in_ms
    if offset is None and sync is not None and sync.offset_ms is not None:
        offset = sync.offset_ms + lag
    early, late = tolerance.limits_ms(float(clip.timeline_rate))
    planned = next((s.decision.action for s in measured.sounds if s.decision.action != "none"), "none")
    return ClipReview(
        key=measured.key, clip=clip.name, track=f"V{clip.video_track_index}",
        audio_tracks=tuple(f"A{a.track_index}" for a in clip.audio),
        record_in=clip.record_start, record_out=clip.record_end,
        timecode_in=_timecode(clip.record_start, info), timecode_out=_timecode(clip.record_end, info),
        offset_ms=None if offset is None else round(offset, 1),
        offset_frames=None if offset is None else round(offset / frame_ms, 2),
        drift_ms_per_min=None if sync is None or sync.drift_ms_per_min is None else sync.drift_ms_per_min,
        confidence=None if sync is None else sync.confidence, verdict=sync.verdict if sync else "not measured",
        planned=planned, reason="; ".join(s.decision.reason for s in measured.sounds),
        ticked=ticked, tickable=measured.tickable,
        windows=tuple((0.5 * (w.start_s + w.end_s), w.offset_ms + lag, w.confidence)
                      for w in (sync.windows if sync else []) if w.offset_ms is not None),
        lines=_lines(sync, lag), used_s=(float(clip.timing.media_in_s), float(clip.timing.media_out_s)),
        band_ms=(-early, late), moments=_moments(sync, clip, info))


def _lines(sync: SyncResult | None, lag_ms: float) -> tuple[OffsetLine, ...]:
    """The fitted offset over the measured media, stretch by stretch where the file has splices."""
    if sync is None or not sync.windows:
        return ()
    return tuple(OffsetLine(a, b, correction.offset_at_ms(a) + lag_ms, correction.drift_ms_per_min)
                 for a, b, correction in sync.stretches(sync.windows[0].start_s, sync.windows[-1].end_s))


def _moments(sync: SyncResult | None, clip: ClipRef, info: TimelineInfo) -> tuple[Moment, ...]:
    if sync is None:
        return ()
    found = []
    for moment in sync.moments:
        media_s = float(moment["time_s"])
        frame = round_half_away(clip.timing.seconds_to_record(Fraction(media_s).limit_denominator(100000)))
        shown = clip.record_start <= frame < clip.record_end
        found.append(Moment(media_s, _timecode(frame, info) if shown else "", str(moment.get("event", "")),
                            float(moment.get("offset_ms", 0.0))))
    return tuple(found)


def _unmeasured_row(clip: ClipRef, info: TimelineInfo, tolerance: Tolerance) -> ClipReview:
    early, late = tolerance.limits_ms(float(clip.timeline_rate))
    return ClipReview(clip_key(clip), clip.name, f"V{clip.video_track_index}",
                      tuple(f"A{a.track_index}" for a in clip.audio), clip.record_start, clip.record_end,
                      _timecode(clip.record_start, info), _timecode(clip.record_end, info), None, None, None, None,
                      "not measured", "none", "not measured: the run was cancelled before this clip", False, False,
                      band_ms=(-early, late))



def _skipped_row(skipped: dict[str, Any], info: TimelineInfo) -> ClipReview:
    start, end = int(skipped["record_start"]), int(skipped["record_end"])
    return ClipReview(f"{skipped['track']}@{start}", str(skipped["name"]), str(skipped["track"]), (), start, end,
                      _timecode(start, info), _timecode(end, info), None, None, None, None, "skipped", "none",
                      str(skipped["reason"]), False, False)
