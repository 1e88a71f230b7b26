"""align_timeline and revert_timeline end to end on the Resolve fake, with real media.

Test media are corpus clips whose audio was shifted by a known amount with the core correction code (video
packets copied, audio re-encoded), written to tmp_path. Each test builds a fake project with the public API,
as an editor's timeline would be built, and checks the duplicate, the original and the revert.

The timeline mechanics are measured against a reference: the shifted copy's audio is compared with the
corpus original (``core.compare``, to the sample), so those tests check placement exactly, whatever the lip
estimator's accuracy. ``test_lip_analysis_end_to_end`` runs the full lip analysis instead.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from kit.fake_resolve import FakeResolve, place_clip
from kit.project import (
    ReferenceMeasure,
    audio_items,
    content,
    items_by_track,
    new_project,
    original_of,
    pool_of,
    timeline_of,
    timelines,
    uncoloured,
)
from media_factory import load_source, write_clip
from remux import first_seconds

from core.analyze import analyze_file
from core.compare import compare_files
from core.correct import write_corrected_audio_file, write_corrected_media
from core.probe import probe
from core.version import VERSION
from plugin.audit import audit_records
from plugin.resolve_api import ResolveUnsupported
from plugin.timeline import align_timeline, revert_timeline

BASE = "real/videoretalking__3.mp4"  # 25 fps, 5 s, close-up, in sync to about a frame (corpus-observations.md)
FRAME_MS = 40.0
measure = ReferenceMeasure()
ORIGINALS = measure.originals
DRIFTING = measure.drifting


@pytest.fixture(scope="module")
def media(corpus, tmp_path_factory) -> dict[str, Path]:
    """Shifted copies of one clip: audio late 120 ms, early 80 ms, late 70 ms (sub-frame)."""
    folder = tmp_path_factory.mktemp("media")
    src = corpus / BASE
    made = {"base": src}
    for name, late_ms in (("late120", 120.0), ("early80", -80.0), ("late70", 70.0)):
        made[name] = folder / f"{name}.mp4"
        write_corrected_media(src, made[name], offset_ms=-late_ms)
        ORIGINALS[str(made[name])] = src
    return made


@pytest.fixture(scope="module")
def drifting(corpus, tmp_path_factory) -> dict[str, Path]:
    """Copies of the clip whose audio drifts 600 ms/min later (speed x1.01 fixes it), starting 118 ms late
    (a 3-frame slip leaves 2 ms), 100 ms late (2.5 frames: 20 ms left) and 12 ms late (no slip needed)."""
    folder = tmp_path_factory.mktemp("drifting")
    made = {}
    for name, late_ms in (("late118", 118.0), ("late100", 100.0), ("late12", 12.0)):
        made[name] = folder / f"drift_{name}.mp4"
        write_corrected_media(corpus / BASE, made[name], offset_ms=-late_ms, drift_ms_per_min=-600.0)
        ORIGINALS[str(made[name])] = corpus / BASE
        DRIFTING.add(str(made[name]))
    return made


def test_slip_moves_audio_by_the_measured_whole_frames_and_revert_restores_it(media):
    resolve = new_project()
    place_clip(resolve, str(media["late120"]), 50)  # whole media, no handles: moved on the timeline
    pool = resolve.GetProjectManager().GetCurrentProject().GetMediaPool()
    early = pool.ImportMedia([str(media["early80"])])[0]
    tl = timeline_of(resolve)
    start = tl.GetStartFrame() + 300
    # A 100-frame excerpt with handles on both sides: slipped inside the media, record range kept.
    items = pool.AppendToTimeline([
        {"mediaPoolItem": early, "startFrame": 10, "endFrame": 110, "recordFrame": start, "trackIndex": 1,
         "mediaType": 1},
        {"mediaPoolItem": early, "startFrame": 10, "endFrame": 110, "recordFrame": start, "trackIndex": 1,
         "mediaType": 2}])
    tl.SetClipsLinked(items, True)
    before = content(tl)
    before_audio = [(a.GetStart(), a.GetLeftOffset()) for a in audio_items(tl)]

    summary = align_timeline(resolve, strategy="slip", analyze=measure)

    dup = timeline_of(resolve)
    assert summary["timeline"]["duplicate"] and summary["timeline"]["name"] == "Edit [LipAlign]"
    # DeleteClips needs the Edit page; the editor gets back the page they were on.
    assert resolve.GetCurrentPage() == "media"
    assert dup is not original_of(resolve) and content(original_of(resolve)) == before
    base = 0.0  # the reference measurement is relative to the corpus original
    late, early_clip = summary["clips"]
    assert late["action"] == early_clip["action"] == "slip", summary
    after_audio = [(a.GetStart(), a.GetLeftOffset()) for a in audio_items(dup)]
    # Moved record position for the whole-media clip, slipped source for the excerpt (see plan_slip).
    moved = before_audio[0][0] - after_audio[0][0]
    slipped = after_audio[1][1] - before_audio[1][1]
    assert after_audio[0][1] == before_audio[0][1] and after_audio[1][0] == before_audio[1][0]
    assert moved == late["measurement"]["slip_frames"] and slipped == early_clip["measurement"]["slip_frames"]
    # Within a frame of the truth: the shift we made plus what the unshifted clip measures.
    assert abs(moved - (120.0 + base) / FRAME_MS) <= 1.0
    assert abs(slipped - (-80.0 + base) / FRAME_MS) <= 1.0
    # Audio and picture are linked again, the moved items coloured, one marker with an audit record per clip.
    for item in audio_items(dup):
        assert item.GetClipColor() == "Orange" and len(item.GetLinkedItems()) == 1
    records = audit_records(dup.GetMarkers())
    assert [r.action for _, r in records] == ["slip", "slip"]
    assert records[0][1].before[0].record_start == before_audio[0][0]
    assert records[0][1].after[0].item_id == late["new_item_ids"][0]
    # Measured again where they now sit, both clips are in sync: a second run would not slip them again.
    again = align_timeline(resolve, apply=False, analyze=measure)
    assert [c["planned"] for c in again["clips"]] == ["none", "none"], again["clips"]

    result = revert_timeline(resolve)
    assert [r["action"] for r in result["reverted"]] == ["slip", "slip"] and not result["failed"]
    assert resolve.GetCurrentPage() == "media"
    assert content(dup) == before
    assert content(original_of(resolve)) == before


def test_conform_renders_corrected_audio_within_tolerance_and_reverts(media, tmp_path):
    resolve = new_project()
    resolve.GetProjectManager().GetCurrentProject().SetSetting("perfCacheClipsLocation", str(tmp_path / "cache"))
    place_clip(resolve, str(media["late70"]), 0)
    tl = timeline_of(resolve)
    before = content(tl)

    summary = align_timeline(resolve, strategy="conform", analyze=measure)

    dup = timeline_of(resolve)
    (clip,) = summary["clips"]
    assert clip["action"] == "conform", summary
    assert dup.GetTrackCount("audio") == 2 and dup.GetTrackName("audio", 2) == "LipAlign"
    (original_audio,) = audio_items(dup, 1)
    (corrected,) = audio_items(dup, 2)
    assert not original_audio.GetClipEnabled() and original_audio.GetStart() == corrected.GetStart()
    assert corrected.GetDuration() == original_audio.GetDuration()
    (_frame, record), = audit_records(dup.GetMarkers())
    (wav,) = map(Path, record.rendered_files)
    assert wav.parent == tmp_path / "cache" / "LipAlign" and wav.suffix == ".wav"  # never beside the media
    assert corrected.GetClipColor() == "Orange"
    assert corrected.GetMediaPoolItem().GetClipProperty("File Path") == str(wav)
    (lipalign_bin,) = [f for f in pool_of(resolve).GetRootFolder().GetSubFolderList() if f.GetName() == "LipAlign"]
    assert [c.GetClipProperty("File Path") for c in lipalign_bin.GetClipList()] == [str(wav)]
    assert record.before[0].item_id == original_audio.GetUniqueId() and record.disabled == [record.before[0].item_id]
    assert (record.resolve_version, record.lipalign_version) == ("21.1", VERSION)
    # Re-measure the rendered sound against the in-sync original: the 70 ms (1.75 frames) is gone to the sample.
    residual = compare_files(media["base"], wav)
    assert abs(residual.audio_offset_ms) < 0.5, residual
    assert content(original_of(resolve)) == before
    # A second run leaves the conformed clip alone (its original audio is disabled) and the corrected WAV too.
    again = align_timeline(resolve, apply=False, analyze=measure)
    assert again["clips"][0]["planned"] == "none" and "disabled" in again["clips"][0]["reason"]
    assert [s["reason"] for s in again["skipped"]] == ["audio-only clip: no picture to measure the lips against"]
    assert again["timeline"]["duplicate"] is False and len(timelines(resolve)) == 2

    result = revert_timeline(resolve)
    assert result["reverted"][0]["action"] == "conform" and not result["failed"]
    assert content(dup) == before


def still_image(path: Path) -> Path:
    cv2.imwrite(str(path), np.full((240, 320, 3), 128, np.uint8))
    return path


def test_hostile_clips_are_skipped_with_reasons_and_nothing_else_changes(corpus, media, tmp_path):
    resolve = new_project()
    tl = timeline_of(resolve)
    tl.AddTrack("video")
    tl.AddTrack("audio", "stereo")
    source = load_source(corpus / BASE, 4.0)
    no_face = write_clip(tmp_path / "no_face.mp4", [np.zeros_like(f) + 90 for f in source.frames], fps=source.fps,
                         audio=source.audio, rate=source.rate)
    speech = tmp_path / "speech.wav"
    write_corrected_audio_file(corpus / BASE, speech, 0.0)
    offline_copy = tmp_path / "offline.mp4"
    write_corrected_media(corpus / BASE, offline_copy, offset_ms=-120.0)
    good = tmp_path / "good.mp4"  # 120 ms late with room to move: the one clip that must change
    write_corrected_media(corpus / BASE, good, offset_ms=-120.0)
    ORIGINALS[str(good)] = corpus / BASE

    offline = place_clip(resolve, str(offline_copy), 0)
    offline[0].GetMediaPoolItem().take_offline()
    place_clip(resolve, str(still_image(tmp_path / "still.png")), 200)
    place_clip(resolve, str(no_face), 330)
    # The audio-only clip ends exactly where the late clip's audio starts: no room to move it earlier.
    place_clip(resolve, str(speech), 600 - 126)
    place_clip(resolve, str(media["late120"]), 600)
    place_clip(resolve, str(media["early80"]), 900, track=2)
    place_clip(resolve, str(good), 1200)
    tl.SetTrackLock("audio", 2, True)
    before = content(tl)

    summary = align_timeline(resolve, analyze=measure)

    reasons = {c["clip"]: (c["action"], c["reason"]) for c in summary["clips"]}
    skipped = {s["name"]: s["reason"] for s in summary["skipped"]}
    assert skipped["offline.mp4"].startswith("media offline")
    assert skipped["still.png"].startswith("still image")
    assert skipped["speech.wav"].startswith("audio-only clip")
    assert reasons["no_face.mp4"][0] == "none" and "face" in reasons["no_face.mp4"][1], reasons["no_face.mp4"]
    assert reasons["late120.mp4"][0] == "none" and "no room" in reasons["late120.mp4"][1]
    assert reasons["early80.mp4"][0] == "none" and "locked" in reasons["early80.mp4"][1]
    assert reasons["good.mp4"][0] == "slip", reasons["good.mp4"]
    # Every hostile item (and everything else) is as it was; only the good clip's items and its marker are new.
    dup = timeline_of(resolve)
    after = content(dup)
    assert uncoloured(items_by_track(after, leave_out="good.mp4")) == uncoloured(items_by_track(before,
                                                                                               leave_out="good.mp4"))
    records = {r.clip: r for _, r in audit_records(dup.GetMarkers())}
    assert [c for c, r in records.items() if r.outcome == "changed"] == ["good.mp4"]
    # Every outcome has its marker and colour: skipped, inconclusive (no face) and the refused ones.
    assert records["still.png"].outcome == records["offline.mp4"].outcome == records["speech.wav"].outcome == "skipped"
    assert records["no_face.mp4"].outcome == "inconclusive"
    assert {i.GetClipColor() for i in dup.GetItemListInTrack("video", 1) if i.GetName() == "still.png"} == {"Tan"}
    assert revert_timeline(resolve)["failed"] == [] and content(dup) == before
    assert content(original_of(resolve)) == before


def test_drop_frame_timeline_with_30_fps_media(corpus, tmp_path):
    src = corpus / "generated/vexpress__emo_talk_emotion_gt.mp4"  # 30 fps on a 29.97 DF timeline
    late = tmp_path / "late.mp4"
    write_corrected_media(src, late, offset_ms=-200.0)
    ORIGINALS[str(late)] = src
    ORIGINALS[str(src)] = src  # the untouched clip measures 0 ms against itself: in sync
    resolve = new_project(rate="29.97 DF")
    place_clip(resolve, str(late), 50)
    place_clip(resolve, str(src), 400)
    tl = timeline_of(resolve)
    assert tl.GetStartFrame() == 107_892
    before = content(tl)
    before_start = audio_items(tl)[0].GetStart()

    summary = align_timeline(resolve, strategy="slip", analyze=measure)

    assert summary["timeline"]["frame_rate"] == "29.97 DF" and summary["timeline"]["start_timecode"] == "01:00:00;00"
    clip, neighbour = summary["clips"]
    dup = timeline_of(resolve)
    assert clip["action"] == "slip", clip
    assert neighbour["action"] == "none" and "in sync" in neighbour["reason"], neighbour
    assert uncoloured(items_by_track(content(dup), leave_out=late.name)) == uncoloured(
        items_by_track(before, leave_out=late.name))
    # The slipped clip's marker sits on it: timeline-relative, 50 frames in (record frames are absolute).
    assert audit_records({f: m for f, m in dup.GetMarkers().items() if f == 50.0})[0][1].action == "slip"
    # 30 fps media on a 29.97 timeline: a shift of whole timeline frames is not whole source frames, so moved.
    moved = before_start - audio_items(dup)[0].GetStart()
    assert abs(moved - 200.0 / (1001 / 30)) <= 1.0 and moved == clip["measurement"]["slip_frames"]
    assert audit_records(dup.GetMarkers())
    revert_timeline(resolve)
    assert content(timeline_of(resolve)) == before and content(original_of(resolve)) == before


def test_23_976_timeline_with_25_fps_media_slips_and_reverts_exactly(media):
    # Mixed rates: a timeline frame is 25/(24000/1001) source frames, Resolve floors converted durations,
    # and the start frame is 86400. Both clips are moved (whole timeline frames are not whole source frames).
    resolve = new_project(rate="23.976")
    place_clip(resolve, str(media["late120"]), 50)
    place_clip(resolve, str(media["early80"]), 300)
    tl = timeline_of(resolve)
    assert tl.GetStartFrame() == 86_400
    before = content(tl)
    before_audio = [(a.GetStart(), a.GetDuration()) for a in audio_items(tl)]

    summary = align_timeline(resolve, strategy="slip", analyze=measure)

    assert summary["timeline"]["frame_rate"] == "23.976"
    frame_ms = 1001 / 24
    dup = timeline_of(resolve)
    for clip, (start, duration), after, truth_ms in zip(summary["clips"], before_audio, audio_items(dup),
                                                        (120.0, -80.0), strict=True):
        assert clip["action"] == "slip", clip
        moved = start - after.GetStart()
        assert moved == clip["measurement"]["slip_frames"] and abs(moved - truth_ms / frame_ms) <= 0.5
        assert after.GetDuration() == duration  # no frame lost to the floored conversion
    revert_timeline(resolve)
    assert content(dup) == before and content(original_of(resolve)) == before


def test_versions_below_the_minimum_are_refused_clearly():
    resolve = new_project(version="18.1.3")
    with pytest.raises(ResolveUnsupported, match=r"needs DaVinci Resolve 18\.5 or later \(this is 18\.1\.3\)"):
        align_timeline(resolve)


def test_the_minimum_version_18_5_slips_conforms_and_reverts(media):
    # 18.5: endFrame inclusive, no GetLinkedItems (partners found by media and overlap), audio tracks need a type.
    resolve = new_project(version="18.5")
    place_clip(resolve, str(media["late120"]), 50)
    place_clip(resolve, str(media["late70"]), 300)
    tl = timeline_of(resolve)
    before = content(tl)
    before_start = [a.GetStart() for a in audio_items(tl)]
    before_duration = [a.GetDuration() for a in audio_items(tl)]

    # 120 ms is 3 frames exactly, but a slip (delete and re-append) would drop clip gain and fades, which 18.5
    # cannot read: rendered, as the 70 ms are (10 ms would be left after a 2-frame slip, outside 5 ms).
    summary = align_timeline(resolve, tolerance="custom:5:5", analyze=measure)

    dup = timeline_of(resolve)
    late120, late70 = summary["clips"]
    assert (late120["action"], late70["action"]) == ("conform", "conform"), summary["clips"]
    assert "clip gain and fades (Resolve 18.5 cannot read them; 21.1 can)" in late120["reason"]
    kept = audio_items(dup)
    assert [k.GetStart() for k in kept] == before_start and not any(k.GetClipEnabled() for k in kept)
    corrected = audio_items(dup, 2)
    assert [(c.GetStart(), c.GetDuration()) for c in corrected] == list(zip(before_start, before_duration,
                                                                            strict=True))
    assert any("lacks GetLinkedItems" in n for n in summary["resolve"]["notes"])
    assert content(original_of(resolve)) == before

    result = revert_timeline(resolve)
    assert not result["failed"] and content(dup) == before


def test_selection_before_21_0_4_is_the_media_selected_in_the_media_pool(media, tmp_path):
    resolve = new_project("21.0.3")  # no Timeline.GetSelectedClips before 21.0.4
    place_clip(resolve, str(media["late120"]), 0)
    place_clip(resolve, str(media["early80"]), 300)
    tl = timeline_of(resolve)
    early_audio = audio_items(tl)[1]
    pool_of(resolve).SetSelectedClip(early_audio.GetMediaPoolItem())
    before = content(tl)

    summary = align_timeline(resolve, scope="selection", analyze=measure, render_to=tmp_path)

    assert [(c["clip"], c["action"]) for c in summary["clips"]] == [("early80.mp4", "conform")]
    assert "selected in the Media Pool" in summary["notes"][0]
    dup = timeline_of(resolve)
    kept = uncoloured(items_by_track(content(dup), leave_out="early80.mp4"))
    assert {k: v for k, v in kept.items() if k != ("audio", 2)} == uncoloured(
        items_by_track(before, leave_out="early80.mp4"))  # A2 holds the corrected audio
    assert revert_timeline(resolve)["failed"] == [] and content(dup) == before


@pytest.mark.parametrize(("version", "message"), [
    ("21.1", r"nothing is selected on the timeline.*nothing was changed"),
    ("19.1", r"nothing is selected in the Media Pool.*nothing was changed"),
    ("18.6.6", r"cannot read a selection.*nothing was changed"),
])
def test_an_empty_or_unreadable_selection_is_refused_before_anything_changes(media, version, message):
    resolve = new_project(version)
    place_clip(resolve, str(media["late120"]), 0)  # the playhead sits on it: no longer taken for a selection
    before = resolve.snapshot()
    with pytest.raises(ResolveUnsupported, match=message):
        align_timeline(resolve, scope="selection", analyze=measure)
    assert resolve.snapshot() == before  # no duplicate timeline was left behind


def test_the_free_edition_runs_from_the_scripts_menu_with_a_note(media, tmp_path):
    resolve = FakeResolve("19.1", studio=False)
    pool_of(resolve).CreateEmptyTimeline("Edit")
    place_clip(resolve, str(media["late120"]), 0)
    summary = align_timeline(resolve, analyze=measure, render_to=tmp_path)
    assert summary["resolve"]["studio"] is False and summary["clips"][0]["action"] == "conform"
    assert any("free edition" in n for n in summary["resolve"]["notes"])


def test_dry_run_changes_nothing(media):
    resolve = new_project()
    place_clip(resolve, str(media["late120"]), 0)
    before = resolve.snapshot()
    summary = align_timeline(resolve, apply=False, analyze=measure)
    assert summary["clips"][0]["planned"] in ("slip", "none") and summary["clips"][0]["action"] == "none"
    assert resolve.snapshot() == before and not summary["timeline"]["duplicate"]


def test_speed_on_21_1_corrects_drift_with_a_whole_frame_slip_and_reverts(drifting):
    resolve = new_project(version="21.1")
    for offset, name in ((50, "late118"), (250, "late100"), (450, "late12")):
        place_clip(resolve, str(drifting[name]), offset)
    tl = timeline_of(resolve)
    before = content(tl)
    before_audio = {a.GetName(): a.GetStart() for a in audio_items(tl)}

    summary = align_timeline(resolve, strategy="auto", tolerance="custom:15:15", analyze=measure)

    dup = timeline_of(resolve)
    clips = {c["clip"]: c for c in summary["clips"]}
    assert summary["resolve"]["speed_property"] is True
    assert content(original_of(resolve)) == before
    audio = {a.GetName(): a for a in audio_items(dup)}
    for name, slip in (("drift_late118.mp4", 3), ("drift_late12.mp4", 0)):
        clip = clips[name]
        assert clip["action"] == "speed", clip
        ratio = clip["measurement"]["speed_ratio"]
        # The measured drift (about 600 ms/min) sets the speed; the whole frames go by a slip (moved on the timeline:
        # the media has no handles).
        assert abs(ratio - 1.01) < 0.001 and clip["measurement"]["slip_frames"] == slip
        assert audio[name].GetProperty("Speed") == pytest.approx(ratio * 100.0)
        assert before_audio[name] - audio[name].GetStart() == slip
        assert max(abs(r) for r in clip["measurement"]["residual_ms"]) <= 15.0
        assert audio[name].GetClipColor() == "Orange" and len(audio[name].GetLinkedItems()) == 1
    # 100 ms at the in point is 2.5 frames: after the speed change and a slip 20 ms would remain, so it is rendered.
    late100 = clips["drift_late100.mp4"]
    assert late100["action"] == "conform" and "would leave" in late100["reason"], late100
    assert audio["drift_late100.mp4"].GetProperty("Speed") == 100.0 and not audio["drift_late100.mp4"].GetClipEnabled()
    records = {r.clip: r for _, r in audit_records(dup.GetMarkers())}
    assert records["drift_late118.mp4"].action == records["drift_late12.mp4"].action == "speed"
    for name in ("drift_late118.mp4", "drift_late12.mp4"):
        record = records[name]
        assert record.before[0].speed == 100.0
        assert record.after[0].speed == pytest.approx(clips[name]["measurement"]["speed_ratio"] * 100.0)
        assert "audio speed x1.01" in dup.GetMarkers()[next(f for f, r in audit_records(dup.GetMarkers())
                                                             if r.clip == name)]["note"]
    # The in-place change (no slip) kept its item; the slipped one was re-appended.
    assert records["drift_late12.mp4"].after[0].item_id == records["drift_late12.mp4"].before[0].item_id
    assert records["drift_late118.mp4"].after[0].item_id != records["drift_late118.mp4"].before[0].item_id
    # A second run does not re-time what already plays at a new speed.
    again = {s["name"]: s["reason"] for s in align_timeline(resolve, apply=False, tolerance="custom:15:15",
                                                             analyze=measure)["skipped"]}
    assert all("% speed: LipAlign handles clips at 100 % only" in again[n]
               for n in ("drift_late118.mp4", "drift_late12.mp4")), again

    result = revert_timeline(resolve)
    assert sorted(r["action"] for r in result["reverted"]) == ["conform", "speed", "speed"] and not result["failed"]
    assert content(dup) == before and content(original_of(resolve)) == before


def test_speed_before_21_1_is_rendered_with_the_reason_in_the_summary(drifting):
    resolve = new_project(version="19.0.2")
    place_clip(resolve, str(drifting["late118"]), 0)
    tl = timeline_of(resolve)
    before = content(tl)

    summary = align_timeline(resolve, strategy="speed", tolerance="custom:15:15", analyze=measure)

    (clip,) = summary["clips"]
    assert summary["resolve"]["speed_property"] is False
    assert clip["action"] == "conform" and "no speed property" in clip["reason"], clip
    dup = timeline_of(resolve)
    (record,) = [r for _, r in audit_records(dup.GetMarkers())]
    assert record.action == "conform" and record.before[0].speed is None
    # The rendered sound against the untouched corpus audio: 118 ms at the start growing to 168 ms at the end
    # before; now within a third of the 15 ms tolerance at both ends (what is left is the error of measuring a
    # drift on 5 s of audio).
    residual = compare_files(ORIGINALS[str(drifting["late118"])], record.rendered_files[0])
    duration_min = probe(record.rendered_files[0]).duration_s / 60.0
    ends = (residual.offset_at_start_ms, residual.offset_at_start_ms + residual.drift_ms_per_min * duration_min)
    assert max(abs(e) for e in ends) < 5.0 and abs(residual.audio_offset_ms) < 1.0, residual
    revert_timeline(resolve)
    assert content(dup) == before


LIPS = "real/dfrf__cnn2_25fps.mp4"  # 25 fps news anchor, 71 s, keyframes every 10 s; the first 10 s measure confidently


@pytest.fixture(scope="module")
def lip_media(corpus, tmp_path_factory) -> dict[str, Path]:
    """10 s of an interview, and copies whose audio is 200 ms late and 120 ms early (video packets copied)."""
    folder = tmp_path_factory.mktemp("lips")
    made = {"base": first_seconds(corpus / LIPS, folder / "anchor.mp4", 10.0)}
    for name, late_ms in (("late200", 200.0), ("early120", -120.0)):
        made[name] = folder / f"{name}.mp4"
        write_corrected_media(made["base"], made[name], offset_ms=-late_ms)
    return made


def test_lip_analysis_end_to_end(lip_media):
    """align_timeline with the real lip estimator (no substitute measurement) slips both clips into sync."""
    # The corpus clip need not be at 0 ms: what the estimator reads for the unshifted clip is the reference.
    reference = analyze_file(lip_media["base"]).report.sync
    assert reference.verdict in ("in_sync", "offset") and reference.offset_ms is not None, reference
    resolve = new_project()
    video, _ = place_clip(resolve, str(lip_media["late200"]), 50)
    tl = timeline_of(resolve)
    place_clip(resolve, str(lip_media["early120"]), video.GetEnd() - tl.GetStartFrame() + 50)
    before = content(tl)
    before_start = {a.GetName(): a.GetStart() for a in audio_items(tl)}

    summary = align_timeline(resolve, strategy="auto")

    dup = timeline_of(resolve)
    assert content(original_of(resolve)) == before
    clips = {c["clip"]: c for c in summary["clips"]}
    after_start = {a.GetName(): a.GetStart() for a in audio_items(dup)}
    for name, late_ms in (("late200.mp4", 200.0), ("early120.mp4", -120.0)):
        clip = clips[name]
        assert clip["action"] == "slip" and clip["measurement"]["verdict"] == "offset", clip
        # The whole media is used (no handles), so the audio item moves on the timeline by the slip.
        moved = before_start[name] - after_start[name]
        assert moved == clip["measurement"]["slip_frames"]
        assert abs(moved - (late_ms + reference.offset_ms) / FRAME_MS) <= 1.0, (clip["measurement"], reference)
    records = {r.clip: r for _, r in audit_records(dup.GetMarkers())}
    assert set(records) == set(clips) and all(r.action == "slip" for r in records.values())
    for name, record in records.items():
        assert record.video_item_id == clips[name]["video_item_id"]
        assert record.after[0].item_id == clips[name]["new_item_ids"][0]
        assert record.before[0].record_start == before_start[name]

    result = revert_timeline(resolve)
    assert len(result["reverted"]) == 2 and not result["failed"]
    assert content(dup) == before and content(original_of(resolve)) == before
