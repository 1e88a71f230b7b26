"""The pure half of timeline alignment: per-clip decisions, slip placement and audit records."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

import pytest

from core.model import SyncResult
from core.tolerance import PRESETS, parse_tolerance
from plugin.audit import AuditRecord, ItemState, audit_records
from plugin.plan import AudioRef, ClipRef, decide, plan_slip

BROADCAST = PRESETS["broadcast"]


def clip_at(rate: Fraction = Fraction(25), *, source_in: int = 0, frames: int = 250, media_frames: int | None = 250,
            record_start: int = 90_000) -> ClipRef:
    audio = AudioRef("a1", 1, record_start, record_start + frames, Fraction(source_in))
    return ClipRef("clip.mp4", "v1", 1, record_start, record_start + frames, Fraction(source_in), "/m/clip.mp4", "m1",
                   rate, rate, media_frames=media_frames, audio=(audio,))


def sync(offset: float | None, drift: float = 0.0, verdict: str = "offset") -> SyncResult:
    return SyncResult(verdict, offset, None, drift, 0.9)


def test_inconclusive_and_in_sync_clips_are_left_alone():
    d = decide(clip_at(), SyncResult.inconclusive("no face"), strategy="auto", tolerance=BROADCAST,
               speed_available=False)
    assert (d.action, d.reason) == ("none", "measurement inconclusive: no face")
    d = decide(clip_at(), sync(25.0), strategy="slip", tolerance=BROADCAST, speed_available=False)
    assert d.action == "none" and "in sync" in d.reason


def test_auto_slips_whole_frames_when_that_is_enough():
    d = decide(clip_at(), sync(123.0), strategy="auto", tolerance=BROADCAST, speed_available=False)
    assert (d.action, d.slip_frames) == ("slip", 3)
    assert d.residual_ms == pytest.approx((3.0, 3.0))
    d = decide(clip_at(), sync(-81.0), strategy="auto", tolerance=BROADCAST, speed_available=False)
    assert (d.action, d.slip_frames) == ("slip", -2)


def test_auto_conforms_sub_frame_residuals_under_a_strict_tolerance_and_drift():
    strict = parse_tolerance("custom:10:10")
    d = decide(clip_at(), sync(60.0), strategy="auto", tolerance=strict, speed_available=False)
    assert d.action == "conform" and d.slip_frames in (1, 2)
    # 100 ms at the start, 120 ms at the end of a 10 s clip: a 3-frame slip leaves -20..0 ms, within one frame
    # (broadcast) but not within 10 ms.
    drifting = sync(100.0, 120.0, "drift")
    assert decide(clip_at(), drifting, strategy="auto", tolerance=BROADCAST, speed_available=False).action == "slip"
    assert decide(clip_at(), drifting, strategy="auto", tolerance=strict, speed_available=False).action == "conform"
    # Speed removes the drift but not the 100 ms (2.5 frames) at the in point: a whole-frame slip leaves 20 ms.
    d = decide(clip_at(), drifting, strategy="auto", tolerance=strict, speed_available=True)
    assert d.action == "conform" and "would leave -20.0 ms" in d.reason


def test_auto_sets_the_speed_for_drift_where_resolve_has_the_property():
    strict = parse_tolerance("custom:10:10")
    drifting = sync(118.0, 600.0, "drift")  # 118 ms late at the start, 218 ms at the end of 10 s
    d = decide(clip_at(), drifting, strategy="auto", tolerance=strict, speed_available=True)
    assert (d.action, d.slip_frames) == ("speed", 3) and d.speed_ratio == pytest.approx(1.01)
    # What the speed change leaves (the in point's offset, shrunk by the ratio) minus the slip.
    assert d.residual_ms == pytest.approx(((118.0 - 120.0) / 1.01,) * 2)
    assert "x1.010000" in d.reason and "+3-frame slip" in d.reason
    assert decide(clip_at(), drifting, strategy="auto", tolerance=strict, speed_available=False).action == "conform"
    # Without drift a speed change has nothing to do: a sub-frame offset is rendered, also when speed is asked for.
    assert decide(clip_at(), sync(60.0), strategy="auto", tolerance=strict, speed_available=True).action == "conform"
    d = decide(clip_at(), sync(60.0), strategy="speed", tolerance=strict, speed_available=True)
    assert d.action == "conform" and "no drift" in d.reason


def test_speed_falls_back_to_conform_without_the_property():
    d = decide(clip_at(), sync(100.0, 600.0, "drift"), strategy="speed", tolerance=BROADCAST, speed_available=False)
    assert d.action == "conform" and "no speed property" in d.reason


def test_offset_is_taken_where_the_clip_uses_the_media():
    s = sync(100.0, 60.0, "drift")  # +1 ms per second of media
    # A clip using media seconds 30-40 (frames 750-1000 at 25 fps) sees 130..140 ms.
    d = decide(clip_at(source_in=750, media_frames=2000), s, strategy="slip", tolerance=BROADCAST,
               speed_available=False)
    assert d.offset_in_ms == pytest.approx(130.0) and d.offset_out_ms == pytest.approx(140.0)
    assert d.slip_frames == 3  # round(135 / 40)


def test_where_the_audio_sits_on_the_timeline_counts_as_much_as_the_media():
    # In-sync media whose audio item was put 3 frames after its picture: heard 120 ms late, slipped back.
    clip = clip_at(record_start=90_000)
    late = replace(clip, audio=(replace(clip.audio[0], record_start=90_003, record_end=90_253),))
    d = decide(late, sync(0.0), strategy="auto", tolerance=BROADCAST, speed_available=False)
    assert d.timeline_lag_ms == pytest.approx(120.0) and (d.action, d.slip_frames) == ("slip", 3)
    # Media 120 ms late whose audio was already slipped 3 frames (source in +3): in sync, not slipped again.
    clip = clip_at(source_in=100, media_frames=1000)
    slipped = replace(clip, audio=(replace(clip.audio[0], source_in=Fraction(103)),))
    d = decide(slipped, sync(120.0), strategy="auto", tolerance=BROADCAST, speed_available=False)
    assert d.timeline_lag_ms == pytest.approx(-120.0) and d.action == "none" and "in sync" in d.reason


def test_forced_slip_reports_what_it_cannot_fix():
    d = decide(clip_at(), sync(15.0), strategy="slip", tolerance=parse_tolerance("custom:5:5"), speed_available=False)
    assert d.action == "none" and "under half a frame" in d.reason
    d = decide(clip_at(), sync(100.0, 600.0, "drift"), strategy="slip", tolerance=BROADCAST, speed_available=False)
    assert d.action == "slip" and "use conform" in d.reason


def test_slip_prefers_the_source_in_point_when_the_media_has_handles():
    clip = clip_at(source_in=100, frames=250, media_frames=1000)
    edit = plan_slip(clip, clip.audio[0], 3, timeline_start=90_000)
    assert (edit.kind, edit.record_start, edit.record_end, edit.source_in, edit.source_out) == (
        "slip", 90_000, 90_250, 103, 353)
    edit = plan_slip(clip, clip.audio[0], -2, timeline_start=90_000)
    assert (edit.source_in, edit.source_out) == (98, 348)


def test_slip_moves_the_item_when_the_media_has_no_handle():
    clip = clip_at(source_in=0, frames=250, media_frames=250, record_start=90_100)
    edit = plan_slip(clip, clip.audio[0], 3, timeline_start=90_000)
    assert (edit.kind, edit.record_start, edit.record_end, edit.source_in, edit.source_out) == (
        "move", 90_097, 90_347, 0, 250)
    # Audio early by 2 frames at the head of the media: moved later, not slipped before frame 0.
    edit = plan_slip(clip, clip.audio[0], -2, timeline_start=90_000)
    assert (edit.kind, edit.record_start, edit.source_in) == ("move", 90_102, 0)


def test_a_move_before_the_timeline_start_is_trimmed_at_the_head():
    clip = clip_at(source_in=0, frames=250, media_frames=250, record_start=90_000)
    edit = plan_slip(clip, clip.audio[0], 3, timeline_start=90_000)
    assert (edit.kind, edit.record_start, edit.record_end, edit.source_in, edit.source_out) == (
        "move", 90_000, 90_247, 3, 250)


def test_slip_at_mixed_rates_moves_in_timeline_frames():
    rate = Fraction(30000, 1001)
    audio = AudioRef("a1", 1, 107_892, 108_192, Fraction(0))
    clip = ClipRef("c", "v1", 1, 107_892, 108_192, Fraction(0), "/m", "m", Fraction(60000, 1001), rate,
                   media_frames=1000, audio=(audio,))
    edit = plan_slip(clip, audio, 2, timeline_start=107_892)  # 2 frames at 29.97 = 4 source frames at 59.94
    assert (edit.kind, edit.source_in, edit.source_out, edit.record_start) == ("slip", 4, 604, 107_892)
    clip = ClipRef("c", "v1", 1, 107_892, 108_192, Fraction(0), "/m", "m", Fraction(60000, 1001), rate,
                   media_frames=600, audio=(audio,))
    edit = plan_slip(clip, audio, 2, timeline_start=107_892)
    assert (edit.kind, edit.source_in, edit.source_out, edit.record_start, edit.record_end) == (
        "move", 4, 600, 107_892, 108_190)


def test_audit_record_round_trips_through_marker_custom_data():
    state = ItemState("a1", "audio", 2, 90_000, 90_250, 0, 250, "m1", True, "")
    moved = ItemState("a9", "audio", 2, 89_997, 90_247, 0, 250, "m1", True, "Orange")
    record = AuditRecord("slip", "auto", "clip.mp4", "v1", "/m/clip.mp4",
                         {"offset_ms": 120.0, "offset_in_ms": 120.0, "slip_frames": 3}, [state], [moved],
                         resolve_version="19.0.2")
    back = AuditRecord.from_json(record.to_json())
    assert back == record
    assert "late 120.0 ms" in record.marker_note() and "3" in record.marker_note()
    markers = {96.0: {"customData": record.to_json()}, 10.0: {"customData": "someone else's"},
               5.0: {"customData": '{"schema": "x"}'}}
    assert [(f, r.clip) for f, r in audit_records(markers)] == [(96.0, "clip.mp4")]
    with pytest.raises(ValueError):
        AuditRecord.from_json('{"schema": "lipalign.audit/1", "before": []}')


def test_long_files_are_analysed_around_the_ranges_a_timeline_uses():
    from plugin.measure import spans_to_analyse

    assert spans_to_analyse([(30.0, 32.0)], 71.0) == [(20.0, 42.0)]
    assert spans_to_analyse([(30.0, 32.0), (38.0, 40.0), (200.0, 201.0)], 600.0) == [(20.0, 50.0), (190.0, 211.0)]
    assert spans_to_analyse([(30.0, 32.0)], 40.0) is None  # short: the whole file
    assert spans_to_analyse([(5.0, 30.0), (40.0, 60.0)], 71.0) is None  # most of it: the whole file


def test_a_cut_across_a_splice_is_left_alone_with_the_reason():
    splices = [{"time_s": 5.0, "offset_before_ms": 0.0, "offset_after_ms": 200.0}]
    s = SyncResult("offset", 100.0, 2.5, 0.0, 0.9, splices=splices)
    d = decide(clip_at(), s, strategy="auto", tolerance=BROADCAST, speed_available=False)  # media 0-10 s
    assert d.action == "none" and "runs across a splice at 5.00 s" in d.reason
    d = decide(clip_at(source_in=150, frames=100, media_frames=400), s, strategy="auto", tolerance=BROADCAST,
               speed_available=False)  # media 6-10 s: after the splice
    assert (d.action, d.slip_frames) == ("slip", 5)


def test_sound_off_its_picture_is_flagged_when_the_media_is_inconclusive():
    clip = clip_at(record_start=90_000)
    late = replace(clip, audio=(replace(clip.audio[0], record_start=90_003, record_end=90_253),))
    d = decide(late, SyncResult.inconclusive("no face"), strategy="auto", tolerance=BROADCAST, speed_available=False)
    assert d.check and "3 frame(s) after its picture" in d.reason
    assert not decide(clip, SyncResult.inconclusive("no face"), strategy="auto", tolerance=BROADCAST,
                      speed_available=False).check
