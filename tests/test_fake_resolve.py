"""The Resolve fake behaves as resolve-api.md documents and measures; one test per behaviour."""

from __future__ import annotations

import json
import os

import pytest
from kit.fake_resolve import FakeResolve, place_clip

CLIP = "real/lipnet__bbaf2n.mpg"  # 3 s, 25 fps, 44.1 kHz stereo, 75 frames
CLIP_50 = "generated/sadtalkervls__face_dain_50fps.mp4"  # 50 fps, 269 frames, 16 kHz mono


def setup(corpus, version: str = "19.0.2", rate: str = "25", **kw):
    resolve = FakeResolve(version, frame_rate=rate, **kw)
    project = resolve.GetProjectManager().GetCurrentProject()
    pool = project.GetMediaPool()
    timeline = pool.CreateEmptyTimeline("T")
    mpi = pool.ImportMedia([str(corpus / CLIP)])[0]
    return resolve, pool, timeline, mpi


def audio(mpi, start, end, record, track=1):
    return {"mediaPoolItem": mpi, "startFrame": start, "endFrame": end, "recordFrame": record,
            "trackIndex": track, "mediaType": 2}


def test_import_reads_the_real_media(corpus):
    _, pool, _, mpi = setup(corpus)
    props = mpi.GetClipProperty()
    assert props["FPS"] == 25.0 and isinstance(props["FPS"], float)  # FPS is the one float (api §1)
    assert (props["Frames"], props["Sample Rate"], props["Audio Ch"], props["Type"]) == ("75", "44100", "2",
                                                                                          "Video + Audio")
    assert props["File Path"] == str(corpus / CLIP) and mpi.GetClipProperty("Duration") == "00:00:03:00"
    assert pool.ImportMedia([str(corpus / "no-such-file.mp4")]) == []  # skipped, as Resolve does


def test_record_frame_is_absolute(corpus):
    _, pool, timeline, mpi = setup(corpus)
    assert timeline.GetStartFrame() == 90000  # 01:00:00:00 at 25p
    [item] = pool.AppendToTimeline([audio(mpi, 0, 10, 10)])
    assert item.GetStart() == 10 < timeline.GetStartFrame()  # a relative value lands before the timeline start


def test_end_frame_is_exclusive_from_19_and_inclusive_on_18(corpus):
    _, pool, _, mpi = setup(corpus, "19.0.2")
    assert pool.AppendToTimeline([audio(mpi, 5, 15, 90000)])[0].GetDuration() == 10
    _, pool, _, mpi = setup(corpus, "18.6.6")
    assert pool.AppendToTimeline([audio(mpi, 5, 15, 90000)])[0].GetDuration() == 11


def test_one_fractional_frame_rejects_the_whole_batch(corpus):
    _, pool, timeline, mpi = setup(corpus)
    assert pool.AppendToTimeline([audio(mpi, 0, 10, 90000), audio(mpi, 0, 10.5, 90020)]) is None
    assert pool.AppendToTimeline([audio(mpi, 0, 10, 90000.0)]) is None
    assert timeline.GetItemListInTrack("audio", 1) == []


def test_overlaps_are_silently_dropped_and_the_earlier_item_wins(corpus):
    _, pool, timeline, mpi = setup(corpus)
    placed = pool.AppendToTimeline([audio(mpi, 0, 20, 90000), audio(mpi, 0, 20, 90010), audio(mpi, 0, 5, 90020)])
    # The dropped placement comes back as a "thin" item: no id, every getter None.
    assert [i.GetStart() for i in placed] == [90000, None, 90020] and placed[1].GetUniqueId() is None
    assert [i.GetStart() for i in timeline.GetItemListInTrack("audio", 1)] == [90000, 90020]


def test_locked_tracks_refuse_appends_and_deletes(corpus):
    resolve, pool, timeline, mpi = setup(corpus)
    [item] = pool.AppendToTimeline([audio(mpi, 0, 20, 90000)])
    assert timeline.SetTrackLock("audio", 1, True) and timeline.GetIsTrackLocked("audio", 1)
    assert pool.AppendToTimeline([audio(mpi, 0, 20, 90100)]) == []
    resolve.OpenPage("edit")
    assert timeline.DeleteClips([item], False) is False


def test_delete_clips_works_only_on_the_edit_page_and_only_on_the_items_passed(corpus):
    resolve, _, timeline, _ = setup(corpus)
    video, sound = place_clip(resolve, str(corpus / CLIP), 0)
    assert video.GetLinkedItems() == [sound]
    assert resolve.GetCurrentPage() == "media"
    assert timeline.DeleteClips([sound]) is False and len(timeline.GetItemListInTrack("audio", 1)) == 1
    assert resolve.OpenPage("edit") and timeline.DeleteClips([sound]) is True
    assert timeline.GetItemListInTrack("audio", 1) == [] and timeline.GetItemListInTrack("video", 1) == [video]
    assert video.GetLinkedItems() == []


def test_a_flaky_delete_fails_once_then_works(corpus):
    _, pool, timeline, mpi = setup(corpus, page="edit")
    [item] = pool.AppendToTimeline([audio(mpi, 0, 20, 90000)])
    timeline.fail_next_delete_clips = True
    assert timeline.DeleteClips([item]) is False and timeline.DeleteClips([item]) is True


def test_there_are_no_position_setters_and_speed_arrives_in_21_1(corpus):
    for version, speed in (("19.0.2", False), ("20.3", False), ("21.1", True)):
        resolve, _, _, _ = setup(corpus, version)
        video, sound = place_clip(resolve, str(corpus / CLIP), 0)
        assert not {"SetStart", "SetEnd", "SetDuration", "Move", "Slip"} & set(dir(video))
        assert video.SetProperty("Speed", 50.0) is speed
        assert video.GetProperty("Speed") == (50.0 if speed else None)
        assert sound.SetProperty("Volume", -3.0) is speed  # audio properties are 21.1 too
        assert video.SetProperty("ZoomX", 1.2) is True and sound.SetProperty("ZoomX", 1.2) is False


def test_indices_are_one_based(corpus):
    resolve, _, timeline, _ = setup(corpus)
    project = resolve.GetProjectManager().GetCurrentProject()
    assert project.GetTimelineByIndex(1) is timeline and project.GetTimelineByIndex(0) is None
    assert timeline.GetItemListInTrack("audio", 0) is None and timeline.GetItemListInTrack("audio", 1) == []
    assert timeline.GetTrackCount("audio") == 1 and timeline.AddTrack("audio", "mono")
    assert timeline.GetTrackCount("audio") == 2 and timeline.GetTrackSubType("audio", 2) == "mono"


def test_audio_tracks_need_a_sub_type_on_18_5(corpus):
    _, _, timeline, _ = setup(corpus, "18.5")
    assert timeline.AddTrack("audio") is False and timeline.AddTrack("audio", "stereo") is True
    _, _, timeline, _ = setup(corpus, "19.0.2")
    assert timeline.AddTrack("audio") is True and timeline.GetTrackSubType("audio", 2) == "mono"


def test_versions_gate_methods_and_hasattr_cannot_tell(corpus):
    resolve, _, _, _ = setup(corpus, "18.5.1.4")
    assert resolve.GetVersion() == [18, 5, 1, 4, ""] and resolve.GetVersionString() == "18.5.1.4"
    video, _ = place_clip(resolve, str(corpus / CLIP), 0)
    assert "GetLinkedItems" not in dir(video) and "SetClipEnabled" in dir(video)
    assert hasattr(video, "GetLinkedItems") and video.GetLinkedItems is None  # dir() is the only honest test
    assert hasattr(video, "NoSuchMethod")
    with pytest.raises(TypeError):
        video.GetStart(True)  # subframe_precision is 19.0.2+
    resolve, _, _, _ = setup(corpus, "19.0.2")
    video, _ = place_clip(resolve, str(corpus / CLIP), 0)
    assert video.GetStart(True) == 90000.0 and isinstance(video.GetStart(True), float)
    assert (video.GetSourceStartFrame(), video.GetSourceEndFrame(), video.GetSourceEndTime()) == (0, 75, 3.0)


def test_editions_and_external_scripting():
    studio, free = FakeResolve(), FakeResolve(studio=False)
    assert studio.GetProductName() == "DaVinci Resolve Studio" and free.GetProductName() == "DaVinci Resolve"
    assert studio.scriptapp("Resolve") is studio and free.scriptapp("Resolve") is None


def test_markers_carry_custom_data_at_float_offsets(corpus):
    _, _, timeline, _ = setup(corpus)
    assert timeline.AddMarker(96, "Purple", "LipAlign", "note", 1, '{"id": 1}')
    assert timeline.AddMarker(96, "Blue", "again", "", 1, "") is False  # one marker per frame
    assert timeline.AddMarker(10, "Orange", "clip colour, not a marker colour", "", 1, "") is False
    assert list(timeline.GetMarkers()) == [96.0] and isinstance(next(iter(timeline.GetMarkers())), float)
    assert timeline.GetMarkerByCustomData('{"id": 1}') == {96.0: {"color": "Purple", "duration": 1, "note": "note",
                                                                   "name": "LipAlign", "customData": '{"id": 1}'}}
    assert timeline.UpdateMarkerCustomData(96, "x") and timeline.GetMarkerCustomData(96) == "x"
    assert timeline.DeleteMarkerAtFrame(96) and timeline.GetMarkers() == {}


def test_clip_colours_accept_only_the_sixteen_clip_names(corpus):
    resolve, _, _, _ = setup(corpus)
    video, _ = place_clip(resolve, str(corpus / CLIP), 0)
    assert video.SetClipColor("Cyan") is False and video.SetClipColor("Orange") is True
    assert video.GetClipColor() == "Orange" and video.ClearClipColor() and video.GetClipColor() == ""


def test_duplicate_timeline_copies_and_leaves_the_original_current(corpus):
    resolve, _, timeline, _ = setup(corpus)
    place_clip(resolve, str(corpus / CLIP), 0, audio_shift=2)
    timeline.AddMarker(5, "Blue", "m", "", 1, "d")
    before = timeline.snapshot(ids=False)
    dup = timeline.DuplicateTimeline("T copy")
    project = resolve.GetProjectManager().GetCurrentProject()
    assert project.GetCurrentTimeline() is timeline and project.GetTimelineCount() == 2
    assert timeline.DuplicateTimeline("T copy") is None
    assert {**dup.snapshot(ids=False), "name": "T"} == before
    dup.GetItemListInTrack("video", 1)[0].SetClipColor("Orange")
    assert timeline.snapshot(ids=False) == before
    copies, originals = dup.GetItemListInTrack("audio", 1), timeline.GetItemListInTrack("audio", 1)
    assert copies[0].GetUniqueId() != originals[0].GetUniqueId()


def test_appends_go_to_the_current_timeline(corpus):
    _, pool, first, mpi = setup(corpus)
    second = pool.CreateEmptyTimeline("Second")
    pool.AppendToTimeline([audio(mpi, 0, 10, 90000)])
    assert first.GetItemListInTrack("audio", 1) == [] and len(second.GetItemListInTrack("audio", 1)) == 1


@pytest.mark.parametrize(("rate", "start", "label"), [("23.976", 86400, "23.976"), ("29.97", 108000, "29.97"),
                                                     ("29.97 DF", 107892, "29.97 DF"), ("25", 90000, "25")])
def test_timeline_rates_and_drop_frame(corpus, rate, start, label):
    _, _, timeline, _ = setup(corpus, rate=rate)
    assert timeline.GetStartFrame() == start and timeline.GetSetting("timelineFrameRate") == label
    assert timeline.GetSetting("timelineDropFrameTimecode") == ("1" if "DF" in rate else "0")
    assert timeline.GetStartTimecode() == ("01:00:00;00" if "DF" in rate else "01:00:00:00")


def test_mixed_rates_floor_the_record_duration(corpus):
    _, pool, _, _ = setup(corpus, rate="24")
    mpi = pool.ImportMedia([str(corpus / CLIP_50)])[0]
    [item] = pool.AppendToTimeline([audio(mpi, 0, 101, 86400)])
    assert item.GetDuration() == 48  # 101 frames at 50 fps = 48.48 frames at 24, floored
    assert item.GetSourceEndFrame() == 100  # flips to inclusive when the rates differ
    assert item.GetLeftOffset() == 0 and item.GetSourceEndTime() == pytest.approx(2.02)


def test_offline_media_keeps_a_path_that_no_longer_exists(corpus):
    _, _, _, mpi = setup(corpus)
    mpi.take_offline()
    path = mpi.GetClipProperty("File Path")
    assert path.endswith("lipnet__bbaf2n.mpg") and not os.path.exists(path)


def test_snapshots_are_deterministic(corpus):
    def build():
        resolve, _, _, _ = setup(corpus)
        place_clip(resolve, str(corpus / CLIP), 0, audio_shift=1)
        return resolve.snapshot()

    assert build() == build()


def test_save_refuses_an_untitled_project():
    assert FakeResolve(project_name="Untitled Project").GetProjectManager().SaveProject() is False
    assert FakeResolve().GetProjectManager().SaveProject() is True


def test_audio_only_appends_check_video_track_indices_until_20_2_2(corpus):
    for version, placed in (("20.2.1", False), ("20.2.2", True), ("19.0.2", True)):
        _, pool, timeline, mpi = setup(corpus, version)
        timeline.AddTrack("audio", "stereo")  # A2 exists, V2 does not
        assert bool(pool.AppendToTimeline([audio(mpi, 0, 10, 90000, track=2)])) is placed, version


def test_appends_fail_with_nothing_selected_in_the_media_pool_on_20_3_0_and_20_3_1(corpus):
    for version, placed in (("20.3.1", False), ("20.3.2", True)):
        _, pool, _, mpi = setup(corpus, version)
        assert bool(pool.AppendToTimeline([audio(mpi, 0, 10, 90000)])) is placed, version
    _, pool, _, mpi = setup(corpus, "20.3.1")
    assert pool.SetSelectedClip(mpi) and pool.AppendToTimeline([audio(mpi, 0, 10, 90000)])


def test_injected_refusals_place_nothing(corpus):
    resolve, pool, timeline, mpi = setup(corpus)
    resolve.refuse_appends = 1
    assert [i.GetUniqueId() for i in pool.AppendToTimeline([audio(mpi, 0, 10, 90000)])] == [None]
    assert timeline.GetItemListInTrack("audio", 1) == [] and pool.AppendToTimeline([audio(mpi, 0, 10, 90000)])


def test_a_clip_with_two_audio_tracks_lands_on_two_audio_tracks_with_their_own_mapping(corpus):
    resolve, _, timeline, mpi = setup(corpus, "19.0.2")
    timeline.AddTrack("audio", "mono")
    mpi.set_audio_tracks([("mono", [1]), ("mono", [2])])
    video, first, second = place_clip(resolve, str(corpus / CLIP), 0, mpi=mpi)
    assert [first.GetTrackTypeAndIndex(), second.GetTrackTypeAndIndex()] == [["audio", 1], ["audio", 2]]
    assert json.loads(second.GetSourceAudioChannelMapping())["track_mapping"] == {
        "1": {"channel_idx": [2], "mute": False, "type": "mono"}}
    assert json.loads(mpi.GetAudioMapping())["embedded_audio_channels"] == 2
    assert {i.GetUniqueId() for i in video.GetLinkedItems()} == {first.GetUniqueId(), second.GetUniqueId()}


def test_synced_audio_links_a_recorder_file_with_an_offset(corpus, tmp_path):
    _, pool, _, mpi = setup(corpus, "19.1")
    wav = pool.ImportMedia([str(corpus / CLIP_50)])[0]  # any file with sound stands in for the recorder
    mpi.link_audio(wav, -100)
    mapping = json.loads(mpi.GetAudioMapping())
    assert mapping["linked_audio"] == {"1": {"channels": 1, "path": str(corpus / CLIP_50), "offset": -100}}
    assert mapping["track_mapping"]["1"]["channel_idx"] == [3]  # after the two embedded channels
    assert mpi.GetClipProperty("Synced Audio") == CLIP_50.split("/")[-1]


def test_media_start_timecode_makes_source_times_absolute(corpus):
    resolve, _, _, mpi = setup(corpus)
    mpi.set_start_timecode("10:00:00:00")
    video, _ = place_clip(resolve, str(corpus / CLIP), 0, mpi=mpi)
    assert mpi.GetClipProperty("Start TC") == "10:00:00:00"
    assert (video.GetSourceStartTime(), video.GetLeftOffset()) == (36000.0, 0)


def test_clip_gain_and_fades_are_readable_only_from_21_1(corpus):
    for version, readable in (("21.0.4", False), ("21.1", True)):
        resolve, _, _, _ = setup(corpus, version)
        _, sound = place_clip(resolve, str(corpus / CLIP), 0)
        sound.set_audio(Volume=-6.0, FadeIn=12)
        assert (sound.GetProperty("Volume") == -6.0) is readable and sound.SetProperty("FadeOut", 5) is readable
        assert sound.snapshot(True)["audio"]["Volume"] == -6.0  # there either way, as on the Edit page


def test_retimed_items_span_more_source_than_record(corpus):
    _, pool, _, _ = setup(corpus, "19.0.2")
    mpi = pool.ImportMedia([str(corpus / CLIP_50)])[0]
    [video] = pool.AppendToTimeline([{**audio(mpi, 0, 100, 90000), "mediaType": 1}])  # 2 s of a 5.4 s clip
    video.retime(200.0)
    span = video.GetSourceEndTime() - video.GetSourceStartTime()
    assert span == pytest.approx(2 * video.GetDuration() / 25.0, abs=0.02) and video.GetProperty("Speed") is None


def test_nested_timelines_and_compound_clips_have_their_own_media_type(corpus):
    resolve, pool, timeline, _ = setup(corpus, "19.1")
    items = place_clip(resolve, str(corpus / CLIP), 0)
    compound = timeline.CreateCompoundClip(items, {"name": "Interview"})
    assert compound.GetMediaPoolItem().GetClipProperty("Type") == "Compound"
    assert len(timeline.GetItemListInTrack("video", 1)) == 1
    outer = pool.CreateEmptyTimeline("Outer")
    [nested, _] = pool.AppendToTimeline([timeline.GetMediaPoolItem()])
    assert nested.GetMediaPoolItem().GetClipProperty("Type") == "Timeline" and outer.GetItemListInTrack("video", 1)


def test_timeline_selection_arrives_in_21_0_4_and_in_out_marks_in_19_1(corpus):
    resolve, _, timeline, _ = setup(corpus, "21.0.4")
    video, _ = place_clip(resolve, str(corpus / CLIP), 0)
    assert timeline.GetSelectedClips() == []
    timeline.select([video])
    assert timeline.GetSelectedClips() == [video]
    assert timeline.GetMarkInOut() == {} and timeline.SetMarkInOut(10, 40)
    assert timeline.GetMarkInOut() == {"video": {"in": 10, "out": 40}, "audio": {"in": 10, "out": 40}}
    resolve, _, timeline, _ = setup(corpus, "21.0.3")
    assert "GetSelectedClips" not in dir(timeline) and "GetMarkInOut" in dir(timeline)
