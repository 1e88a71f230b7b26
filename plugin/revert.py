"""Undo everything LipAlign did on the current timeline, from the audit records in its markers alone."""

from __future__ import annotations

from typing import Any

from plugin.audit import AuditRecord, audit_records, legend_frame
from plugin.reading import read_timeline_info
from plugin.resolve_api import ResolveUnsupported, check_support, has_method
from plugin.session import NotApplied, Session, media_id

__all__ = ["SUMMARY_SCHEMA", "open_project", "revert_timeline"]

SUMMARY_SCHEMA = "lipalign.timeline/1"


def open_project(resolve: Any) -> Session:
    """A session on the current project and timeline, with a clear error for each gap."""
    caps = check_support(resolve)
    project = resolve.GetProjectManager().GetCurrentProject()
    if project is None:
        raise ResolveUnsupported("no project is open in Resolve")
    timeline = project.GetCurrentTimeline()
    if timeline is None:
        raise ResolveUnsupported("the project has no current timeline: open the timeline to align")
    return Session(resolve, project, project.GetMediaPool(), timeline, caps, read_timeline_info(timeline))


def revert_timeline(resolve: Any) -> dict[str, Any]:
    """Undo every LipAlign change on the current timeline, newest first, from the audit records in its markers.

    Moved audio goes back to its recorded place (with its look and links), audio an edit left missing is put
    back, added audio items are deleted, disabled originals are enabled again, emptied LipAlign tracks are
    removed, outcome colours are undone, and the markers (and the legend) go.

    Returns
    -------
    dict
        ``timeline``, ``reverted`` (one entry per record: clip, action, restored item ids) and ``failed``
        (records that could not be undone, with the reason; their markers stay).
    """
    session = open_project(resolve)
    timeline = session.timeline
    reverted, failed = [], []
    tracks_to_check: set[int] = set()
    try:
        for frame, record in reversed(audit_records(timeline.GetMarkers() or {})):
            try:
                restored = revert_record(session, record)
            except NotApplied as exc:
                failed.append({"clip": record.clip, "action": record.action, "reason": str(exc)})
                continue
            tracks_to_check.update(record.added_tracks)
            timeline.DeleteMarkerAtFrame(frame)
            reverted.append({"clip": record.clip, "action": record.action, "restored_item_ids": restored})
        for track in sorted(tracks_to_check, reverse=True):
            if not timeline.GetItemListInTrack("audio", track) and track == int(timeline.GetTrackCount("audio")):
                timeline.DeleteTrack("audio", track)
        legend = legend_frame(timeline.GetMarkers() or {})
        if legend is not None and not failed:
            timeline.DeleteMarkerAtFrame(legend)
    finally:
        session.restore_page()
    return {"schema": SUMMARY_SCHEMA, "timeline": {"name": session.info.name, "id": session.info.unique_id},
            "reverted": reverted, "failed": failed}


def _find_anywhere(session: Session, item_id: str) -> Any:
    for track_type in ("video", "audio"):
        for _, item in session.track_items(track_type):
            if str(item.GetUniqueId()) == item_id:
                return item
    return None


def revert_record(session: Session, record: AuditRecord) -> list[str]:
    """Undo one record; the ids of the items as they are again."""
    for item_id, color in record.recolored.items():
        item = _find_anywhere(session, item_id)
        if item is not None and color:
            item.SetClipColor(color)
        elif item is not None:
            item.ClearClipColor()
    if record.outcome not in ("changed", "missing"):
        return []
    added = []
    for state in record.after:
        item = session.find("audio", state.track_index, item_id=state.item_id) or session.find(
            "audio", state.track_index, record_start=state.record_start, record_end=state.record_end,
            media=state.media_id)
        if item is None:
            raise NotApplied(f"the item LipAlign placed on A{state.track_index} is gone; nothing was reverted")
        added.append((state, item))
    if record.action == "conform":
        for state, item in added:
            session.delete(item, state.track_index)
        for state in record.before:
            item = session.find("audio", state.track_index, item_id=state.item_id)
            if item is not None:
                item.SetClipEnabled(state.enabled)
        return [s.item_id for s in record.before]
    if [s.item_id for s in record.before] == [s.item_id for s in record.after]:
        # Changed in place (a speed change with no slip): the same items get their speed and look back.
        for state, (_, item) in zip(record.before, added, strict=True):
            session.restore_look(item, state)
            if state.speed is not None and session.speed_of(item) != state.speed:
                raise NotApplied(f"Resolve kept the new speed of the audio on A{state.track_index}")
        return [s.item_id for s in record.before]
    pools = {}
    for state, item in added:
        pools[state.media_id] = item.GetMediaPoolItem()
        session.delete(item, state.track_index)
    restored = []
    for state in record.before:
        mpi = pools.get(state.media_id) or _pool_item(session, state.media_id)
        placed = session.put_back(mpi, state) if mpi is not None else None
        if placed is None:
            raise NotApplied(f"could not put the audio back on A{state.track_index} (the range is taken, or Resolve "
                             f"refused the append); by hand, {state.how_to_restore(session.info.start_frame)}")
        restored.append(placed)
    video = _find_anywhere(session, record.video_item_id)
    if video is not None:
        partners = video.GetLinkedItems() if has_method(video, "GetLinkedItems") else []
        session.relink([video, *(partners or []), *restored])
    return [str(p.GetUniqueId()) for p in restored]


def _pool_item(session: Session, wanted: str) -> Any:
    """The media pool item with this unique id (the only way back to the media of an item that is missing)."""
    folders = [session.media_pool.GetRootFolder()]
    while folders:
        folder = folders.pop()
        for clip in folder.GetClipList() or []:
            if media_id(clip) == wanted:
                return clip
        folders.extend(folder.GetSubFolderList() or [])
    return None
