"""The Resolve objects of one run and the edit primitives on them, each checked by reading the timeline back.

Resolve's return values are not to be trusted (an append that failed can hand back a "thin" item, a delete
can fail once and work the next time, resolve-api.md §5), so every primitive here reads the track again
and says what really happened. :meth:`Session.replace_audio` is the only way LipAlign deletes an item: the
deletion is followed by a verified placement of the new item or a verified restore of the old one, and when
both fail the item's full state goes back to the caller to be kept in an audit marker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from plugin.audit import AuditRecord, ItemState
from plugin.plan import TimelineInfo
from plugin.resolve_api import Capabilities, has_method
from plugin.timemap import parse_rate

__all__ = ["AUDIO_ONLY", "BIN_NAME", "NotApplied", "Session", "media_id", "props", "source_frames",
           "timeline_frames"]

BIN_NAME = "LipAlign"
AUDIO_ONLY = 2  # AppendToTimeline mediaType
SPEED_KEY = "Speed"  # TimelineItem property, 21.1 and later
# AppendToTimeline's endFrame became exclusive between 18.6 and 19.0 (resolve-api.md, "Placement").
EXCLUSIVE_END_VERSION = (19, 0, 0)
# Appends fail with nothing selected in the Media Pool on these versions (Scripting API Changelog 20.3.2).
NO_SELECTION_BUG = ((20, 3, 0), (20, 3, 2))


class NotApplied(Exception):
    """A change that could not be made; the timeline was left (or put back) as it was."""


def props(mpi: Any) -> dict[str, Any]:
    """A media pool item's clip properties (empty for none)."""
    found = mpi.GetClipProperty() if mpi is not None else None
    return found if isinstance(found, dict) else {}


def media_id(mpi: Any) -> str:
    return str(mpi.GetUniqueId() if has_method(mpi, "GetUniqueId") else mpi.GetMediaId())


def source_frames(timeline_frames: int, clip_rate: Fraction, timeline_rate: Fraction) -> int:
    """The fewest source frames that Resolve turns into ``timeline_frames`` (it floors the converted count)."""
    exact = Fraction(timeline_frames) * clip_rate / timeline_rate
    return -(-exact.numerator // exact.denominator)


def timeline_frames(source: int, clip_rate: Fraction, timeline_rate: Fraction) -> int:
    """Timeline frames Resolve gives ``source`` frames of a clip (floored when the rates differ)."""
    exact = Fraction(source) * timeline_rate / clip_rate
    return exact.numerator // exact.denominator


def clip_rate_of(mpi: Any, fallback: Fraction) -> Fraction:
    try:
        return parse_rate(props(mpi).get("FPS", ""))
    except ValueError:
        return fallback


@dataclass
class Session:
    """The Resolve objects of one run, what this Resolve can do, and the edit primitives."""

    resolve: Any
    project: Any
    media_pool: Any
    timeline: Any
    caps: Capabilities
    info: TimelineInfo
    page: str | None = None
    added_tracks: list[int] = field(default_factory=list)

    # -- pages -------------------------------------------------------------------------------------------
    def edit_page(self) -> None:
        # DeleteClips deletes nothing unless the Edit page is showing.
        if self.page is None:
            self.page = self.resolve.GetCurrentPage() or ""
            if self.page != "edit":
                self.resolve.OpenPage("edit")

    def restore_page(self) -> None:
        if self.page and self.page != "edit":
            self.resolve.OpenPage(self.page)

    # -- reading -----------------------------------------------------------------------------------------
    def track_items(self, track_type: str) -> list[tuple[int, Any]]:
        found = []
        for index in range(1, int(self.timeline.GetTrackCount(track_type) or 0) + 1):
            found.extend((index, item) for item in self.timeline.GetItemListInTrack(track_type, index) or [])
        return found

    def find(self, track_type: str, track: int, *, item_id: str | None = None, record_start: int | None = None,
             record_end: int | None = None, media: str | None = None) -> Any:
        """The item on a track with this id, or else with this record range and media."""
        for item in self.timeline.GetItemListInTrack(track_type, track) or []:
            if item_id is not None and str(item.GetUniqueId()) == item_id:
                return item
            if (record_start is not None and int(item.GetStart()) == record_start and int(item.GetEnd()) == record_end
                    and item.GetMediaPoolItem() is not None and media_id(item.GetMediaPoolItem()) == media):
                return item
        return None

    def state(self, item: Any, track_type: str, track_index: int, clip_rate: Fraction, *,
              speed: bool = False) -> ItemState:
        """An item as far as this Resolve reads it: as AppendToTimeline could rebuild it, and how it looks.

        The source in point comes from ``GetLeftOffset`` (timeline frames, exact at 100 % speed) scaled to
        source frames: ``GetSourceStartFrame`` can be off by one and counts audio in another rate.
        """
        rate = self.info.frame_rate.rate
        start, end = int(item.GetStart()), int(item.GetEnd())
        source_in = source_frames(int(item.GetLeftOffset()), clip_rate, rate)
        mpi = item.GetMediaPoolItem()
        enabled = item.GetClipEnabled() if has_method(item, "GetClipEnabled") else True
        markers = {str(k): dict(v) for k, v in (item.GetMarkers() or {}).items()}
        readable = item.GetProperty() if self.caps.audio_properties else None
        mapping = item.GetSourceAudioChannelMapping() if has_method(item, "GetSourceAudioChannelMapping") else ""
        return ItemState(item_id=str(item.GetUniqueId()), track_type=track_type, track_index=track_index,
                         record_start=start, record_end=end, source_in=source_in,
                         source_out=source_in + source_frames(end - start, clip_rate, rate),
                         media_id=media_id(mpi) if mpi is not None else "", enabled=bool(enabled),
                         color=item.GetClipColor() or "", speed=self.speed_of(item) if speed else None,
                         name=item.GetName() or "", media_path=str(props(mpi).get("File Path", "")),
                         flags=list(item.GetFlagList() or []), markers=markers,
                         properties=dict(readable) if isinstance(readable, dict) else {}, mapping=mapping or "")

    def speed_of(self, item: Any) -> float | None:
        """The item's speed in percent, or None where Resolve has no speed property (before 21.1)."""
        value = item.GetProperty(SPEED_KEY) if self.caps.speed_property else None
        if value is None or isinstance(value, bool):
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            return None

    def what_a_rebuild_drops(self, item: Any, state: ItemState) -> list[str]:
        """What deleting and re-appending ``item`` would lose on this Resolve: the reasons to refuse it.

        Colour, enabled state, flags and markers are read and set on every supported version. Clip gain and
        fades are read and set from 21.1 only (native audio properties, Changelog 21.1); before that the API
        cannot even tell whether the item has any. A re-appended item plays its clip's default audio tracks,
        so a channel mapping changed on the item itself cannot be rebuilt; it is read from 19.0.1. A renamed
        item keeps its name only where SetName exists (20.2).
        """
        drops = []
        if not self.caps.audio_properties:
            drops.append(f"its clip gain and fades (Resolve {self.caps.version_text} cannot read them; 21.1 can)")
        mpi = item.GetMediaPoolItem()
        if state.mapping and has_method(mpi, "GetAudioMapping"):
            default = json.loads(mpi.GetAudioMapping() or "{}").get("track_mapping", {})
            own = json.loads(state.mapping).get("track_mapping", {})
            if len(default) != 1 or list(own.values()) != list(default.values()):
                drops.append("its channel mapping (a re-appended item plays the clip's default tracks, and the "
                              "API cannot set a mapping before 21.1)")
        elif not state.mapping and len(self.audio_tracks(mpi)) != 1:
            drops.append(f"its channel mapping (Resolve {self.caps.version_text} cannot read it; 19.0.1 can)")
        if state.name and state.name != (mpi.GetName() if mpi is not None else state.name) and \
                not has_method(item, "SetName"):
            drops.append(f"its name {state.name!r} (SetName arrived in 20.2)")
        return drops

    @staticmethod
    def audio_tracks(mpi: Any) -> list[dict[str, Any]]:
        """The clip's audio tracks from ``GetAudioMapping`` (19.0), or one track where it cannot be read."""
        if mpi is None or not has_method(mpi, "GetAudioMapping"):
            return [{}]
        return list(json.loads(mpi.GetAudioMapping() or "{}").get("track_mapping", {}).values()) or [{}]

    # -- placing and deleting ----------------------------------------------------------------------------
    def append_audio(self, mpi: Any, track: int, record_start: int, source_in: int, source_out: int) -> Any:
        """Append ``[source_in, source_out)`` of ``mpi`` as audio only at ``record_start`` on audio ``track``.

        Returns the placed item read back from the track, or None when Resolve placed nothing there (an
        overlap is silently dropped, a locked track returns nothing, a thin item may come back).
        """
        low, high = NO_SELECTION_BUG
        if low <= self.caps.version < high and not (self.media_pool.GetSelectedClips() or []):
            self.media_pool.SetSelectedClip(mpi)  # the append fails with nothing selected (Changelog 20.3.2)
        end = source_out if self.caps.version >= EXCLUSIVE_END_VERSION else source_out - 1
        self.media_pool.AppendToTimeline([{"mediaPoolItem": mpi, "startFrame": int(source_in), "endFrame": int(end),
                                           "recordFrame": int(record_start), "trackIndex": int(track),
                                           "mediaType": AUDIO_ONLY}])
        rate = self.info.frame_rate.rate
        duration = timeline_frames(int(source_out) - int(source_in), clip_rate_of(mpi, rate), rate)
        return self.find("audio", track, record_start=int(record_start), record_end=int(record_start) + duration,
                         media=media_id(mpi))

    def delete(self, item: Any, track: int) -> None:
        """Delete ``item`` on the Edit page, checking the track and retrying once (the first call can be flaky)."""
        self.edit_page()
        wanted = str(item.GetUniqueId())
        for _ in range(2):
            self.timeline.DeleteClips([item], False)
            if self.find("audio", track, item_id=wanted) is None:
                return
        raise NotApplied(self.caps.refused("delete the audio item") + "; it was left in place")

    def restore_look(self, item: Any, state: ItemState) -> None:
        """Give a re-appended item what the API can set back: colour, enabled state, flags, markers, name,
        readable properties (clip gain and fades, 21.1) and speed."""
        if state.color:
            item.SetClipColor(state.color)
        else:
            item.ClearClipColor()
        if not state.enabled:
            item.SetClipEnabled(False)
        for flag in state.flags:
            item.AddFlag(flag)
        for frame, marker in state.markers.items():
            item.AddMarker(float(frame), marker["color"], marker["name"], marker["note"], marker["duration"],
                           marker.get("customData", ""))
        if state.name and item.GetName() != state.name and has_method(item, "SetName"):
            item.SetName(state.name)
        for key, value in state.properties.items():
            if item.GetProperty(key) != value:
                item.SetProperty(key, value)
        if state.speed is not None and self.speed_of(item) != state.speed:
            item.SetProperty(SPEED_KEY, state.speed)

    def put_back(self, mpi: Any, state: ItemState) -> Any:
        """Re-append an item as ``state`` records it and give it its look; None when Resolve placed nothing."""
        placed = self.append_audio(mpi, state.track_index, state.record_start, state.source_in, state.source_out)
        if placed is not None:
            self.restore_look(placed, state)
        return placed

    def replace_audio(self, item: Any, state: ItemState, place: Any) -> tuple[Any, ItemState | None]:
        """Delete ``item`` and place its replacement with ``place()``, each step read back.

        Returns ``(new item, None)`` when the replacement is in place, and ``(None, state)`` when Resolve
        refused both the replacement and the restore of the original: the item is missing and ``state`` is
        all there is to rebuild it (the caller keeps it in the audit marker).

        Raises
        ------
        NotApplied
            The replacement was refused but the original was put back (with its look) and checked.
        """
        mpi = item.GetMediaPoolItem()
        self.delete(item, state.track_index)
        placed = place()
        if placed is not None:
            return placed, None
        if self.put_back(mpi, state) is not None:
            raise NotApplied(self.caps.refused(f"place the audio on A{state.track_index}") +
                             "; the original item was put back and checked: left as it was")
        return None, state

    # -- tracks, bins, markers ---------------------------------------------------------------------------
    def add_track(self, sub_type: str) -> int:
        """A new audio track of ``sub_type`` (mono, stereo, 5.1...), named LipAlign."""
        if not self.timeline.AddTrack("audio", sub_type):
            raise NotApplied(self.caps.refused(f"add a {sub_type} audio track"))
        track = int(self.timeline.GetTrackCount("audio"))
        if has_method(self.timeline, "SetTrackName"):
            self.timeline.SetTrackName("audio", track, BIN_NAME)
        self.added_tracks.append(track)
        return track

    def free_track(self, start: int, end: int, sub_type: str, taken: set[int]) -> int:
        """An audio track of ``sub_type`` LipAlign added in this run with ``[start, end)`` free, or a new one."""
        for track in self.added_tracks:
            if track in taken or not self.has_sub_type(track, sub_type):
                continue
            if all(int(i.GetEnd()) <= start or int(i.GetStart()) >= end
                   for i in self.timeline.GetItemListInTrack("audio", track) or []):
                return track
        return self.add_track(sub_type)

    def has_sub_type(self, track: int, sub_type: str) -> bool:
        if not has_method(self.timeline, "GetTrackSubType"):
            return True  # before 19.0.1 the type cannot be read: LipAlign's own tracks are all it reuses
        return str(self.timeline.GetTrackSubType("audio", track)).lower() == sub_type.lower()

    def import_media(self, path: str) -> Any:
        """Import ``path`` into the LipAlign bin and return its pool item."""
        pool = self.media_pool
        previous = pool.GetCurrentFolder()
        pool.SetCurrentFolder(self.bin())
        try:
            imported = pool.ImportMedia([path]) or []
        finally:
            if previous is not None:
                pool.SetCurrentFolder(previous)
        if not imported:
            raise NotApplied(self.caps.refused(f"import {path}"))
        return imported[0]

    def bin(self) -> Any:
        root = self.media_pool.GetRootFolder()
        for folder in root.GetSubFolderList() or []:
            if folder.GetName() == BIN_NAME:
                return folder
        folder = self.media_pool.AddSubFolder(root, BIN_NAME)
        if folder is None:
            raise NotApplied(self.caps.refused(f"create the {BIN_NAME} bin"))
        return folder

    def free_marker_frame(self, record_start: int, record_end: int) -> int:
        """The first frame of ``[record_start, record_end)`` without a timeline marker (one marker per frame),
        as an offset from the timeline start; reserved before an edit, so an edit never goes unmarked."""
        taken = {round(float(f)) for f in (self.timeline.GetMarkers() or {})}
        first = record_start - self.info.start_frame
        for frame in range(first, max(first + 1, record_end - self.info.start_frame)):
            if frame not in taken:
                return frame
        raise NotApplied("no free frame for the LipAlign marker on this clip")

    def mark(self, frame: int, record: AuditRecord, color: str) -> None:
        if not self.timeline.AddMarker(frame, color, record.marker_name(), record.marker_note(), 1, record.to_json()):
            raise NotApplied(self.caps.refused("add the LipAlign marker"))

    def relink(self, items: list[Any]) -> None:
        """Link ``items`` again (the picture and every sound it was linked with)."""
        alive = [i for i in items if i is not None and i.GetUniqueId()]
        if len(alive) > 1:
            self.timeline.SetClipsLinked(alive, True)
