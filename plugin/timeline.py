"""Align the talking-head clips of a Resolve timeline: read, measure, decide, write back, and revert.

Only documented scripting-API methods are called on the ``resolve`` object, so the same code runs on
the live object of a Scripts-menu script, on ``DaVinciResolveScript.scriptapp("Resolve")``, on the
bridge proxy and on the test fake. Reading turns Resolve objects into the plain records of
:mod:`plugin.plan`; the decisions are pure functions there; this module applies them.

Every edit is made on a duplicate of the timeline (made current, so the editor sees it), is marked
by a timeline marker whose custom data is an :class:`plugin.audit.AuditRecord`, and can be undone
by :func:`revert_timeline` from those records alone.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from core.analyze import AnalysisOptions, analyze_file
from core.correct import correction_from_sync, write_corrected_audio_file
from core.errors import MediaError
from core.estimate import EstimatorSettings
from core.model import Report
from core.progress import ProgressFn, no_progress
from core.stopping import stops_held
from core.tolerance import PRESETS, Tolerance, parse_tolerance
from plugin.audit import CLIP_COLOR, MARKER_COLOR, AuditRecord, ItemState, audit_records
from plugin.plan import STRATEGIES, AudioRef, ClipRef, Decision, TimelineInfo, decide, plan_slip
from plugin.resolve_api import Capabilities, ResolveUnsupported, check_support, has_method
from plugin.timemap import parse_frame_rate, parse_rate, round_half_away

SUMMARY_SCHEMA = "lipalign.timeline/1"
BIN_NAME = "LipAlign"
AUDIO_ONLY = 2  # AppendToTimeline mediaType
SPEED_KEY = "Speed"  # TimelineItem property, 21.1 and later
SPEED_PRECISION = 0.01  # percent: a read-back this close is taken (0.01 % of a minute is 6 ms)


# AppendToTimeline's endFrame became exclusive between 18.6 and 19.0 (resolve-api.md, "Placement").
EXCLUSIVE_END_VERSION = (19, 0, 0)


@dataclass
class _Session:
    """The Resolve objects of one run and what this Resolve can do."""

    resolve: Any
    project: Any
    media_pool: Any
    timeline: Any
    caps: Capabilities
    info: TimelineInfo
    page: str | None = None
    added_tracks: list[int] = field(default_factory=list)

    def edit_page(self) -> None:
        # DeleteClips deletes nothing unless the Edit page is showing.
        if self.page is None:
            self.page = self.resolve.GetCurrentPage() or ""
            if self.page != "edit":
                self.resolve.OpenPage("edit")

    def restore_page(self) -> None:
        if self.page and self.page != "edit":
            self.resolve.OpenPage(self.page)


def _open(resolve: Any) -> tuple[Any, Any, Any, Capabilities]:
    """Project, media pool, current timeline and what this Resolve can do, with a clear error for each gap."""
    caps = check_support(resolve)
    project = resolve.GetProjectManager().GetCurrentProject()
    if project is None:
        raise ResolveUnsupported("no project is open in Resolve")
    timeline = project.GetCurrentTimeline()
    if timeline is None:
        raise ResolveUnsupported("the project has no current timeline: open the timeline to align")
    return project, project.GetMediaPool(), timeline, caps


def read_timeline_info(timeline: Any) -> TimelineInfo:
    """The timeline's name, id, exact frame rate (with drop frame) and absolute start frame."""
    rate_text = timeline.GetSetting("timelineFrameRate")
    drop = timeline.GetSetting("timelineDropFrameTimecode")
    unique = timeline.GetUniqueId() if has_method(timeline, "GetUniqueId") else ""
    start_tc = timeline.GetStartTimecode() if has_method(timeline, "GetStartTimecode") else ""
    return TimelineInfo(name=timeline.GetName(), unique_id=unique or "", frame_rate=parse_frame_rate(rate_text, drop),
                        start_frame=int(timeline.GetStartFrame()), start_timecode=start_tc or "")


def _props(mpi: Any) -> dict[str, Any]:
    props = mpi.GetClipProperty() if mpi is not None else None
    return props if isinstance(props, dict) else {}


def _media_id(mpi: Any) -> str:
    return str(mpi.GetUniqueId() if has_method(mpi, "GetUniqueId") else mpi.GetMediaId())


def _int_prop(props: dict[str, Any], key: str) -> int | None:
    try:
        return int(float(str(props.get(key, "")).strip()))
    except ValueError:
        return None


def _item_state(item: Any, track_type: str, track_index: int, clip_rate: Fraction,
                timeline_rate: Fraction, *, speed: bool = False) -> ItemState:
    """An item as AppendToTimeline could rebuild it (with its speed property when ``speed``).

    The source in point comes from ``GetLeftOffset`` (timeline frames, exact at 100 % speed) scaled to
    source frames: ``GetSourceStartFrame`` can be off by one and counts audio in another rate.
    """
    start, end = int(item.GetStart()), int(item.GetEnd())
    source_in = _source_frames(int(item.GetLeftOffset()), clip_rate, timeline_rate)
    source_out = source_in + _source_frames(end - start, clip_rate, timeline_rate)
    mpi = item.GetMediaPoolItem()
    enabled = item.GetClipEnabled() if has_method(item, "GetClipEnabled") else True
    return ItemState(item_id=str(item.GetUniqueId()), track_type=track_type, track_index=track_index,
                     record_start=start, record_end=end, source_in=source_in,
                     source_out=source_out, media_id=_media_id(mpi) if mpi is not None else "",
                     enabled=bool(enabled), color=item.GetClipColor() or "",
                     speed=_speed_of(item) if speed else None)


def _source_frames(timeline_frames: int, clip_rate: Fraction, timeline_rate: Fraction) -> int:
    """The fewest source frames that Resolve turns into ``timeline_frames`` (it floors the converted count)."""
    exact = Fraction(timeline_frames) * clip_rate / timeline_rate
    return -(-exact.numerator // exact.denominator)


def _timeline_frames(source_frames: int, clip_rate: Fraction, timeline_rate: Fraction) -> int:
    """Timeline frames Resolve gives ``source_frames`` of a clip (floored when the rates differ)."""
    exact = Fraction(source_frames) * timeline_rate / clip_rate
    return exact.numerator // exact.denominator


@dataclass
class _Reading:
    clips: list[ClipRef]
    items: dict[str, Any]  # unique id -> TimelineItem, for every item read
    skipped: list[dict[str, Any]]
    notes: list[str]


def _track_items(timeline: Any, track_type: str) -> list[tuple[int, Any]]:
    found = []
    for index in range(1, int(timeline.GetTrackCount(track_type) or 0) + 1):
        found.extend((index, item) for item in timeline.GetItemListInTrack(track_type, index) or [])
    return found


def _skip(item: Any, track: str, reason: str) -> dict[str, Any]:
    return {"item_id": str(item.GetUniqueId()), "name": item.GetName(), "track": track,
            "record_start": int(item.GetStart()), "reason": reason}


def read_clips(timeline: Any, info: TimelineInfo) -> _Reading:
    """Talking-head clips on ``timeline`` (video items whose media has picture and sound, with their audio items).

    Audio partners are the items ``GetLinkedItems`` names (19.0 and later); without it, or when the
    clip is unlinked, the audio items of the same media pool item that overlap the picture. Everything
    else is listed as skipped with the reason.
    """
    rate = info.frame_rate.rate
    video = _track_items(timeline, "video")
    audio = _track_items(timeline, "audio")
    items: dict[str, Any] = {}
    audio_by_id: dict[str, tuple[int, Any]] = {}
    for index, item in audio:
        audio_by_id[str(item.GetUniqueId())] = (index, item)
        items[str(item.GetUniqueId())] = item
    used: set[str] = set()
    clips: list[ClipRef] = []
    skipped: list[dict[str, Any]] = []
    def partners_of(item: Any, media_id: str | None) -> list[str]:
        found = []
        if has_method(item, "GetLinkedItems"):
            found = [str(p.GetUniqueId()) for p in item.GetLinkedItems() or []]
            found = [p for p in found if p in audio_by_id and p not in used]
        if not found and media_id is not None:
            start, end = int(item.GetStart()), int(item.GetEnd())
            found = [pid for pid, (_, a) in audio_by_id.items()
                     if pid not in used and a.GetMediaPoolItem() is not None
                     and _media_id(a.GetMediaPoolItem()) == media_id
                     and int(a.GetStart()) < end and int(a.GetEnd()) > start]
        return found

    def skip(item: Any, track: str, reason: str, media_id: str | None) -> None:
        # The clip's sound goes with its picture: skipped for the same reason, not as a stray audio item.
        skipped.append(_skip(item, track, reason))
        for pid in partners_of(item, media_id):
            used.add(pid)
            a_index, a_item = audio_by_id[pid]
            skipped.append(_skip(a_item, f"A{a_index}", reason))

    for index, item in video:
        item_id = str(item.GetUniqueId())
        items[item_id] = item
        track = f"V{index}"
        mpi = item.GetMediaPoolItem()
        if mpi is None:
            skip(item, track, "no media behind this item (title, generator or compound clip)", None)
            continue
        props = _props(mpi)
        kind = str(props.get("Type", ""))
        path = str(props.get("File Path", ""))
        media_id = _media_id(mpi)
        if "still" in kind.lower() or (props.get("FPS") in (None, "", 0) and "Video" in kind):
            skip(item, track, "still image: no sound to align", media_id)
            continue
        if "Audio" not in kind:
            skip(item, track, f"the media has no sound ({kind or 'unknown type'})", media_id)
            continue
        if not path or not os.path.isfile(path):
            skip(item, track, f"media offline: {path or 'no file path'} is not reachable", media_id)
            continue
        try:
            clip_rate = parse_rate(props.get("FPS", ""))
        except ValueError:
            skip(item, track, f"the clip's frame rate {props.get('FPS')!r} is unreadable", media_id)
            continue
        start, end = int(item.GetStart()), int(item.GetEnd())
        partners = partners_of(item, media_id)
        if not partners:
            skipped.append(_skip(item, track, "no audio item of this clip on the timeline"))
            continue
        refs = []
        for pid in partners:
            a_index, a_item = audio_by_id[pid]
            state = _item_state(a_item, "audio", a_index, clip_rate, rate)
            refs.append(AudioRef(pid, a_index, state.record_start, state.record_end, Fraction(state.source_in),
                                 state.enabled, state.color))
            used.add(pid)
        clips.append(ClipRef(
            name=item.GetName(), video_item_id=item_id, video_track_index=index, record_start=start, record_end=end,
            source_in=Fraction(_source_frames(int(item.GetLeftOffset()), clip_rate, rate)), media_path=path,
            media_id=media_id,
            clip_rate=clip_rate, timeline_rate=rate, media_frames=_int_prop(props, "Frames"),
            sample_rate=_int_prop(props, "Sample Rate"), audio=tuple(refs), color=item.GetClipColor() or ""))
    for pid, (a_index, a_item) in audio_by_id.items():
        if pid in used:
            continue
        kind = str(_props(a_item.GetMediaPoolItem()).get("Type", ""))
        reason = ("audio-only clip: no picture to measure the lips against" if "Video" not in kind
                  else "sound of a clip whose picture is not on the timeline here")
        skipped.append(_skip(a_item, f"A{a_index}", reason))
    return _Reading(clips, items, skipped, [])


@dataclass(frozen=True)
class _Selection:
    """The clips the editor selected, read from the original timeline before anything is changed.

    ``video_at`` is the (video track, record start) of the clip under the playhead; the duplicate keeps
    every position but gives its items new ids, so the position is what identifies the clip there.
    """

    note: str
    media_ids: frozenset[str] = frozenset()
    video_at: tuple[int, int] | None = None

    def keeps(self, clip: ClipRef) -> bool:
        if self.video_at is not None:
            return (clip.video_track_index, clip.record_start) == self.video_at
        return clip.media_id in self.media_ids


def _read_selection(pool: Any, timeline: Any, caps: Capabilities) -> _Selection:
    """What "selection" means in this Resolve: the timeline API cannot read selected timeline items.

    Raises
    ------
    ResolveUnsupported
        Nothing is selected in the Media Pool (or this version cannot say) and the playhead is on no clip.
        Raised before the duplicate is made, so a refusal changes nothing.
    """
    if has_method(pool, "GetSelectedClips"):
        chosen = frozenset(_media_id(m) for m in pool.GetSelectedClips() or [])
        if chosen:
            return _Selection("selection: the clips whose media is selected in the Media Pool (the scripting API "
                              "cannot read a selection of timeline items)", media_ids=chosen)
    if has_method(timeline, "GetCurrentVideoItem"):
        current = timeline.GetCurrentVideoItem()
        if current is not None:
            wanted = str(current.GetUniqueId())
            for index, item in _track_items(timeline, "video"):
                if str(item.GetUniqueId()) == wanted:
                    return _Selection("selection: the clip under the playhead (the scripting API of Resolve "
                                      f"{caps.version_text} cannot read a selection of timeline items)",
                                      video_at=(index, int(item.GetStart())))
    raise ResolveUnsupported(f"Resolve {caps.version_text} offers no way to read a selection through its "
                             "scripting API: select the clips in the Media Pool, park the playhead on the clip, "
                             "or align the whole timeline; nothing was changed")


def _resolve_tolerance(tolerance: Tolerance | str | None) -> Tolerance:
    if tolerance is None:
        return PRESETS["broadcast"]
    return tolerance if isinstance(tolerance, Tolerance) else parse_tolerance(tolerance)


def _speed_available(session: _Session, clip: ClipRef, reading: _Reading) -> bool:
    """Whether the audio of ``clip`` has a speed property: by version, then by reading it from every item."""
    return session.caps.speed_property and all(
        has_method(reading.items[a.item_id], "GetProperty") and _speed_of(reading.items[a.item_id]) is not None
        for a in clip.audio)


def _measurement(report: Report, decision: Decision) -> dict[str, Any]:
    sync = report.to_dict()["sync"]
    sync.pop("windows", None)
    return {**sync, "offset_in_ms": decision.offset_in_ms, "offset_out_ms": decision.offset_out_ms,
            "timeline_lag_ms": decision.timeline_lag_ms,
            "slip_frames": decision.slip_frames, "residual_ms": list(decision.residual_ms or []) or None,
            "speed_ratio": decision.speed_ratio}


def align_timeline(resolve: Any, *, scope: str = "timeline", strategy: str = "auto", apply: bool = True,
                   progress: ProgressFn | None = None, tolerance: Tolerance | str | None = None,
                   analyze: Callable[[str], Report] | None = None) -> dict[str, Any]:
    """Measure every talking-head clip of the current timeline and bring its audio onto the lips.

    Parameters
    ----------
    resolve : the Resolve scripting object (live, external, bridged or fake).
    scope : ``"timeline"`` for every clip, ``"selection"`` for the selected ones (see the summary's notes for
        what "selected" means in this Resolve version).
    strategy : ``"auto"``, ``"slip"``, ``"conform"`` or ``"speed"`` (see :func:`plugin.plan.decide`).
    apply : False measures and decides without touching the project.
    progress : called with (fraction done, stage).
    tolerance : what counts as in sync: a :class:`core.tolerance.Tolerance` or preset name (default broadcast,
        one frame either way).
    analyze : measures one media file; defaults to the full core analysis, cached per file within the run.

    Returns
    -------
    dict
        ``schema``, ``timeline`` (the one edited, and the original), ``resolve``, ``clips`` (per clip: item ids,
        measurement, action taken, reason, new item ids), ``skipped`` (items that are not talking-head clips, with
        the reason) and ``notes``.

    Raises
    ------
    ResolveUnsupported
        Resolve older than the manifest's minimum, no project or timeline, or a refused duplicate.
    ValueError
        Unknown scope or strategy, or a malformed tolerance.
    """
    if scope not in ("timeline", "selection"):
        raise ValueError(f"scope must be 'timeline' or 'selection', not {scope!r}")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    progress = progress or no_progress
    tol = _resolve_tolerance(tolerance)
    project, pool, original, caps = _open(resolve)
    original_info = read_timeline_info(original)
    selection = _read_selection(pool, original, caps) if scope == "selection" else None
    timeline = original
    if apply:
        timeline = _duplicate(project, original, original_info, caps)
    info = read_timeline_info(timeline)
    session = _Session(resolve, project, pool, timeline, caps, info)
    reading = read_clips(timeline, info)
    if selection is not None:
        reading.notes.append(selection.note)
        reading.clips = [c for c in reading.clips if selection.keeps(c)]
    measure = analyze or _cached_analysis(tol)
    entries: list[dict[str, Any]] = []
    try:
        for number, clip in enumerate(reading.clips):
            progress(number / max(len(reading.clips), 1), f"measuring {clip.name}")
            entries.append(_align_clip(session, clip, reading, measure, strategy, tol, apply))
    finally:
        session.restore_page()
    progress(1.0, "done")
    return {
        "schema": SUMMARY_SCHEMA,
        "timeline": {"name": info.name, "id": info.unique_id, "frame_rate": str(info.frame_rate),
                     "start_frame": info.start_frame, "start_timecode": info.start_timecode,
                     "duplicate": timeline is not original,
                     "original": {"name": original_info.name, "id": original_info.unique_id}},
        "resolve": caps.to_dict(),
        "scope": scope, "strategy": strategy, "apply": apply, "tolerance": tol.name,
        "clips": entries, "skipped": reading.skipped, "notes": reading.notes,
    }


def _cached_analysis(tol: Tolerance) -> Callable[[str], Report]:
    options = AnalysisOptions(estimator=EstimatorSettings(tolerance=tol))
    cache: dict[str, Report | MediaError] = {}

    def measure(path: str) -> Report:
        if path not in cache:
            try:
                cache[path] = analyze_file(path, options).report
            except MediaError as exc:
                cache[path] = exc
        found = cache[path]
        if isinstance(found, MediaError):
            raise found
        return found

    return measure


def _duplicate(project: Any, timeline: Any, info: TimelineInfo, caps: Capabilities) -> Any:
    """A copy of ``timeline`` made current; the original is never edited.

    DuplicateTimeline is in every README since 17.4, so every supported version has it.
    """
    if not has_method(timeline, "DuplicateTimeline"):
        raise ResolveUnsupported("this Resolve cannot duplicate a timeline through its scripting API")
    taken = {project.GetTimelineByIndex(i).GetName() for i in range(1, int(project.GetTimelineCount() or 0) + 1)}
    name, n = f"{info.name} [LipAlign]", 2
    while name in taken:
        name, n = f"{info.name} [LipAlign {n}]", n + 1
    copy = timeline.DuplicateTimeline(name)
    if copy is None:
        raise ResolveUnsupported(caps.refused("duplicate the timeline") + "; nothing was changed")
    project.SetCurrentTimeline(copy)
    return copy


def _align_clip(session: _Session, clip: ClipRef, reading: _Reading, measure: Callable[[str], Report],
                strategy: str, tol: Tolerance, apply: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "clip": clip.name, "video_item_id": clip.video_item_id, "audio_item_ids": [a.item_id for a in clip.audio],
        "track": f"V{clip.video_track_index}", "audio_tracks": [f"A{a.track_index}" for a in clip.audio],
        "record_start": clip.record_start, "record_end": clip.record_end, "media_path": clip.media_path,
        "measurement": None, "planned": "none", "action": "none", "reason": "", "new_item_ids": [],
    }
    if not any(a.enabled for a in clip.audio):
        entry["reason"] = ("its audio is disabled on the timeline (muted by the editor, or replaced by corrected "
                           "audio from an earlier LipAlign run): left alone")
        return entry
    speeds = [_speed_of(reading.items[a.item_id]) for a in clip.audio] if session.caps.speed_property else []
    retimed = [v for v in speeds if v is not None and v != 100.0]
    if retimed:
        # The lag and offset arithmetic assume 100 % speed, and re-timing a re-timed clip would compound.
        entry["reason"] = (f"its audio already plays at {retimed[0]:.4f} % (set by the editor or an earlier "
                           "LipAlign run): left alone")
        return entry
    try:
        report = measure(clip.media_path)
    except MediaError as exc:
        entry["reason"] = f"not measured: {exc}"
        return entry
    decision = decide(clip, report.sync, strategy=strategy, tolerance=tol,
                      speed_available=_speed_available(session, clip, reading))
    entry.update(measurement=_measurement(report, decision), planned=decision.action, reason=decision.reason)
    if decision.action == "none" or not apply:
        return entry
    locked = [a.track_index for a in clip.audio if session.timeline.GetIsTrackLocked("audio", a.track_index)]
    if locked:
        entry["reason"] = f"audio track A{locked[0]} is locked: unlock it to let LipAlign change this clip"
        return entry
    try:
        with stops_held():  # a stop signal waits for the clip's edit to be whole (or put back)
            if decision.action == "slip":
                new_ids = _apply_slip(session, clip, reading, decision, report, strategy)
            elif decision.action == "speed":
                new_ids = _apply_speed(session, clip, reading, decision, report, strategy)
            else:
                new_ids = _apply_conform(session, clip, reading, decision, report, strategy)
    except _NotApplied as exc:
        entry["reason"] = str(exc)
        return entry
    entry.update(action=decision.action, new_item_ids=new_ids)
    return entry


class _NotApplied(Exception):
    """A change that could not be made; the timeline was left (or put back) as it was."""


def _find_item(timeline: Any, track_type: str, track: int, *, item_id: str | None = None,
               record_start: int | None = None, record_end: int | None = None, media_id: str | None = None) -> Any:
    """The item on a track with this id, or else with this record range and media (Resolve's return values
    from AppendToTimeline can be thin, so placement is always checked by reading the track again)."""
    for item in timeline.GetItemListInTrack(track_type, track) or []:
        if item_id is not None and str(item.GetUniqueId()) == item_id:
            return item
        if (record_start is not None and int(item.GetStart()) == record_start and int(item.GetEnd()) == record_end
                and item.GetMediaPoolItem() is not None and _media_id(item.GetMediaPoolItem()) == media_id):
            return item
    return None


def _end_arg(session: _Session, source_out: int) -> int:
    return source_out if session.caps.version >= EXCLUSIVE_END_VERSION else source_out - 1


def _append_audio(session: _Session, mpi: Any, track: int, record_start: int, source_in: int,
                  source_out: int) -> Any:
    """Append ``[source_in, source_out)`` of ``mpi`` as audio only at ``record_start`` on audio ``track``.

    Returns the placed item read back from the track, or None when Resolve dropped it (an overlap is
    silently dropped, a locked track returns nothing).
    """
    info = {"mediaPoolItem": mpi, "startFrame": int(source_in), "endFrame": _end_arg(session, int(source_out)),
            "recordFrame": int(record_start), "trackIndex": int(track), "mediaType": AUDIO_ONLY}
    session.media_pool.AppendToTimeline([info])
    duration = _timeline_frames(int(source_out) - int(source_in), _clip_rate(mpi, session),
                                session.info.frame_rate.rate)
    return _find_item(session.timeline, "audio", track, record_start=int(record_start),
                      record_end=int(record_start) + duration, media_id=_media_id(mpi))


def _clip_rate(mpi: Any, session: _Session) -> Fraction:
    try:
        return parse_rate(_props(mpi).get("FPS", ""))
    except ValueError:
        return session.info.frame_rate.rate


def _delete(session: _Session, items: list[Any], track: int) -> None:
    """Delete ``items`` on the Edit page, checking the track and retrying once (the first call can be flaky)."""
    session.edit_page()
    ids = {str(i.GetUniqueId()) for i in items}
    for _ in range(2):
        session.timeline.DeleteClips(items, False)
        left = {str(i.GetUniqueId()) for i in session.timeline.GetItemListInTrack("audio", track) or []}
        if not ids & left:
            return
    raise _NotApplied(session.caps.refused("delete the audio item") + "; it was left in place")


def _mark(session: _Session, record_start: int, record_end: int, record: AuditRecord) -> None:
    """A timeline marker carrying the audit record, on the first free frame of the clip (one marker per frame)."""
    offset = record_start - session.info.start_frame
    payload = record.to_json()
    for frame in range(offset, max(offset + 1, record_end - session.info.start_frame)):
        if session.timeline.AddMarker(frame, MARKER_COLOR, record.marker_name(), record.marker_note(), 1, payload):
            return
    raise _NotApplied("no free frame for the LipAlign marker on this clip")


def _apply_slip(session: _Session, clip: ClipRef, reading: _Reading, decision: Decision, report: Report,
                strategy: str) -> list[str]:
    """Move each audio item of ``clip`` ``decision.slip_frames`` frames earlier by delete and re-append, then relink."""
    before, moved = _move_audio(session, clip, reading, decision.slip_frames)
    return _finish_audio_edit(session, clip, reading, decision, report, strategy, before, moved)


def _move_audio(session: _Session, clip: ClipRef, reading: _Reading, frames: int) -> tuple[list[ItemState], list[Any]]:
    """Delete and re-append every audio item of ``clip`` ``frames`` timeline frames earlier.

    Returns the items' states before and the new items. When Resolve drops a placement, every item of the
    clip goes back where it was (the clip is never left half-slipped) and :class:`_NotApplied` is raised.
    """
    rate = clip.timeline_rate
    video = reading.items[clip.video_item_id]
    edits = []
    for audio in clip.audio:
        try:
            edits.append((audio, plan_slip(clip, audio, frames, session.info.start_frame)))
        except ValueError as exc:
            raise _NotApplied(f"cannot slip: {exc}") from None
    before, new_items = [], []
    for audio, edit in edits:
        item = reading.items[audio.item_id]
        mpi = item.GetMediaPoolItem()
        state = _item_state(item, "audio", audio.track_index, clip.clip_rate, rate)
        _delete(session, [item], audio.track_index)
        placed = _append_audio(session, mpi, audio.track_index, edit.record_start, edit.source_in, edit.source_out)
        if placed is None:
            restored = _append_audio(session, mpi, audio.track_index, state.record_start, state.source_in,
                                     state.source_out)
            _restore_look(restored, state)
            for done, old in zip(new_items, before, strict=True):
                done_mpi = done.GetMediaPoolItem()
                _delete(session, [done], old.track_index)
                _restore_look(_append_audio(session, done_mpi, old.track_index, old.record_start,
                                            old.source_in, old.source_out), old)
            _relink(session, video, clip)
            raise _NotApplied(f"no room on A{audio.track_index} to move the audio {frames:+d} frame(s) "
                              "(another item is in the way; Resolve dropped the placement): left as it was")
        before.append(state)
        new_items.append(placed)
    return before, new_items


def _finish_audio_edit(session: _Session, clip: ClipRef, reading: _Reading, decision: Decision, report: Report,
                       strategy: str, before: list[ItemState], items: list[Any]) -> list[str]:
    """Colour and relink the changed audio items of ``clip`` and leave the audit marker; their new ids."""
    for item in items:
        item.SetClipColor(CLIP_COLOR)
    after = [_item_state(item, "audio", audio.track_index, clip.clip_rate, clip.timeline_rate,
                         speed=decision.action == "speed")
             for item, audio in zip(items, clip.audio, strict=True)]
    session.timeline.SetClipsLinked([reading.items[clip.video_item_id], *items], True)
    record = AuditRecord(action=decision.action, strategy=strategy, clip=clip.name, video_item_id=clip.video_item_id,
                         media_path=clip.media_path, measurement=_measurement(report, decision), before=before,
                         after=after, resolve_version=session.caps.version_text)
    _mark(session, clip.record_start, clip.record_end, record)
    return [s.item_id for s in after]


def _apply_speed(session: _Session, clip: ClipRef, reading: _Reading, decision: Decision, report: Report,
                 strategy: str) -> list[str]:
    """Play the audio of ``clip`` ``decision.speed_ratio`` times as fast, after a whole-frame slip if one is due.

    The speed goes on the audio items only; the picture keeps its timing. Resolve reads the speed back, and
    a value it did not take undoes the change (slip included) before reporting the refusal.
    """
    items = [reading.items[a.item_id] for a in clip.audio]
    before = [_item_state(item, "audio", a.track_index, clip.clip_rate, clip.timeline_rate, speed=True)
              for item, a in zip(items, clip.audio, strict=True)]
    if decision.slip_frames:
        _, items = _move_audio(session, clip, reading, decision.slip_frames)
    # The 21.1 changelog names the "Speed" property but not its units; percent (100 = normal), as the Edit
    # page's Change Clip Speed shows it, is a guess shared with the fake.
    percent = decision.speed_ratio * 100.0
    for item in items:
        if not item.SetProperty(SPEED_KEY, percent) or abs((_speed_of(item) or 0.0) - percent) > SPEED_PRECISION:
            after = [_item_state(i, "audio", a.track_index, clip.clip_rate, clip.timeline_rate, speed=True)
                     for i, a in zip(items, clip.audio, strict=True)]
            _revert_record(session, AuditRecord(action="speed", strategy=strategy, clip=clip.name,
                                                video_item_id=clip.video_item_id, media_path=clip.media_path,
                                                measurement={}, before=before, after=after))
            raise _NotApplied(session.caps.refused(f"set the audio speed to {percent:.4f} %") + "; left as it was")
    return _finish_audio_edit(session, clip, reading, decision, report, strategy, before, items)


def _speed_of(item: Any) -> float | None:
    """The item's speed in percent, or None where Resolve has no speed property (before 21.1)."""
    value = item.GetProperty(SPEED_KEY)
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _restore_look(item: Any, state: ItemState) -> None:
    if item is None:
        return
    if state.color:
        item.SetClipColor(state.color)
    else:
        item.ClearClipColor()
    if not state.enabled:
        item.SetClipEnabled(False)
    if state.speed is not None and _speed_of(item) != state.speed:
        item.SetProperty(SPEED_KEY, state.speed)


def _relink(session: _Session, video: Any, clip: ClipRef) -> None:
    partners = [_find_item(session.timeline, "audio", a.track_index, record_start=a.record_start,
                           record_end=a.record_end, media_id=clip.media_id) for a in clip.audio]
    session.timeline.SetClipsLinked([video, *[p for p in partners if p is not None]], True)


def corrected_audio_path(clip: ClipRef, offset_ms: float, drift_ms_per_min: float) -> Path:
    """Where the corrected sound of ``clip`` is written: a LipAlign folder beside the media (never over it),
    named by the correction so that a repeated run reuses the same file name."""
    key = hashlib.sha1(f"{clip.media_path}|{offset_ms:.3f}|{drift_ms_per_min:.4f}".encode()).hexdigest()[:10]
    return Path(clip.media_path).parent / BIN_NAME / f"{Path(clip.media_path).stem}.lipalign-{key}.wav"


def _render(clip: ClipRef, offset_ms: float, drift: float) -> Path:
    out = corrected_audio_path(clip, offset_ms, drift)
    try:
        out.parent.mkdir(exist_ok=True)
    except OSError as exc:
        raise _NotApplied(f"cannot write the corrected audio beside the media ({exc.strerror})") from None
    try:  # the writer itself refuses to overwrite the clip's media
        write_corrected_audio_file(clip.media_path, out, offset_ms, drift)
    except (MediaError, ValueError) as exc:
        raise _NotApplied(f"cannot render the corrected audio: {exc}") from None
    return out


def _bin(session: _Session) -> Any:
    pool = session.media_pool
    root = pool.GetRootFolder()
    for folder in root.GetSubFolderList() or []:
        if folder.GetName() == BIN_NAME:
            return folder
    folder = pool.AddSubFolder(root, BIN_NAME)
    if folder is None:
        raise _NotApplied(session.caps.refused(f"create the {BIN_NAME} bin"))
    return folder


def _import(session: _Session, path: Path) -> Any:
    pool = session.media_pool
    previous = pool.GetCurrentFolder()
    pool.SetCurrentFolder(_bin(session))
    try:
        imported = pool.ImportMedia([str(path)]) or []
    finally:
        if previous is not None:
            pool.SetCurrentFolder(previous)
    if not imported:
        raise _NotApplied(session.caps.refused(f"import {path.name}"))
    return imported[0]


def _free_track(session: _Session, start: int, end: int, channels: int) -> int:
    """An audio track LipAlign added in this run with nothing in ``[start, end)``, or a new one."""
    timeline = session.timeline
    for track in session.added_tracks:
        if all(int(i.GetEnd()) <= start or int(i.GetStart()) >= end
               for i in timeline.GetItemListInTrack("audio", track) or []):
            return track
    if not timeline.AddTrack("audio", "mono" if channels == 1 else "stereo"):
        raise _NotApplied(session.caps.refused("add an audio track"))
    track = int(timeline.GetTrackCount("audio"))
    if has_method(timeline, "SetTrackName"):
        timeline.SetTrackName("audio", track, BIN_NAME)
    session.added_tracks.append(track)
    return track


def _apply_conform(session: _Session, clip: ClipRef, reading: _Reading, decision: Decision, report: Report,
                   strategy: str) -> list[str]:
    """Render the corrected sound, place it on a LipAlign track under the clip, and disable the original audio.

    The corrected file's sample 0 plays with the media's first video frame, so it is placed with the
    same source range as the audio item it replaces. Resolve gives an imported WAV the project's frame
    rate; when the in point falls between two of its frames, the sub-frame rest is baked into the file.
    """
    offset_ms, drift = correction_from_sync(report.sync)
    audio = clip.audio[0]
    timing = clip.audio_timing(audio)
    media_in = timing.media_in_s
    wav_rate = _project_rate(session)
    wav_in = media_in * wav_rate
    whole_in = wav_in.numerator // wav_in.denominator
    lag_s = media_in - Fraction(whole_in) / wav_rate  # played this much early if placed from whole_in
    # What the timeline adds (audio placed off its picture) is rendered out too, as the item keeps its place.
    wav = _render(clip, offset_ms + decision.timeline_lag_ms - float(lag_s) * 1000.0, drift)
    mpi = _import(session, wav)
    wav_frames = round_half_away(Fraction(timing.record_frames) * wav_rate / clip.timeline_rate)
    channels = _int_prop(_props(mpi), "Audio Ch") or 2
    track = _free_track(session, audio.record_start, audio.record_end, channels)
    placed = _append_audio(session, mpi, track, audio.record_start, whole_in, whole_in + wav_frames)
    if placed is None:
        raise _NotApplied(session.caps.refused(f"place the corrected audio on A{track}"))
    placed.SetClipColor(CLIP_COLOR)
    before = [_item_state(reading.items[a.item_id], "audio", a.track_index, clip.clip_rate, clip.timeline_rate)
              for a in clip.audio]
    for a in clip.audio:
        if not reading.items[a.item_id].SetClipEnabled(False):
            placed_state = _item_state(placed, "audio", track, wav_rate, clip.timeline_rate)
            session.edit_page()
            session.timeline.DeleteClips([placed], False)
            for b in clip.audio:
                reading.items[b.item_id].SetClipEnabled(True)
            raise _NotApplied(session.caps.refused(f"disable the original audio on A{a.track_index}") +
                              f"; the corrected audio ({placed_state.item_id}) was removed again")
    after = [_item_state(placed, "audio", track, wav_rate, clip.timeline_rate)]
    record = AuditRecord(action="conform", strategy=strategy, clip=clip.name, video_item_id=clip.video_item_id,
                         media_path=clip.media_path, measurement=_measurement(report, decision), before=before,
                         after=after, disabled=[a.item_id for a in clip.audio], added_track=track,
                         rendered_file=str(wav), resolve_version=session.caps.version_text)
    _mark(session, clip.record_start, clip.record_end, record)
    return [s.item_id for s in after]


def _project_rate(session: _Session) -> Fraction:
    """The project's frame rate, which Resolve gives a WAV at import."""
    try:
        return parse_rate(session.project.GetSetting("timelineFrameRate"))
    except (ValueError, TypeError):
        return session.info.frame_rate.rate


def revert_timeline(resolve: Any) -> dict[str, Any]:
    """Undo every LipAlign change on the current timeline, from the audit records in its markers.

    Moved audio goes back to its recorded place (and colour, and link), added audio items are deleted,
    disabled originals are enabled again, emptied LipAlign tracks are removed, and the markers go.

    Returns
    -------
    dict
        ``timeline``, ``reverted`` (one entry per record: clip, action, restored item ids) and ``failed``
        (records that could not be undone, with the reason; their markers stay).
    """
    project, pool, timeline, caps = _open(resolve)
    info = read_timeline_info(timeline)
    session = _Session(resolve, project, pool, timeline, caps, info)
    reverted, failed = [], []
    tracks_to_check: set[int] = set()
    try:
        for frame, record in reversed(audit_records(timeline.GetMarkers() or {})):
            try:
                restored = _revert_record(session, record)
            except _NotApplied as exc:
                failed.append({"clip": record.clip, "action": record.action, "reason": str(exc)})
                continue
            if record.added_track is not None:
                tracks_to_check.add(record.added_track)
            timeline.DeleteMarkerAtFrame(frame)
            reverted.append({"clip": record.clip, "action": record.action, "restored_item_ids": restored})
        for track in sorted(tracks_to_check, reverse=True):
            if not timeline.GetItemListInTrack("audio", track) and track == int(timeline.GetTrackCount("audio")):
                timeline.DeleteTrack("audio", track)
    finally:
        session.restore_page()
    return {"schema": SUMMARY_SCHEMA, "timeline": {"name": info.name, "id": info.unique_id},
            "reverted": reverted, "failed": failed}


def _revert_record(session: _Session, record: AuditRecord) -> list[str]:
    timeline = session.timeline
    added = []
    for state in record.after:
        item = _find_item(timeline, "audio", state.track_index, item_id=state.item_id) or _find_item(
            timeline, "audio", state.track_index, record_start=state.record_start, record_end=state.record_end,
            media_id=state.media_id)
        if item is None:
            raise _NotApplied(f"the item LipAlign placed on A{state.track_index} is gone; nothing was reverted")
        added.append((state, item))
    if record.action == "conform":
        for state, item in added:
            _delete(session, [item], state.track_index)
        for state in record.before:
            item = _find_item(timeline, "audio", state.track_index, item_id=state.item_id)
            if item is not None:
                item.SetClipEnabled(state.enabled)
        return [s.item_id for s in record.before]
    if [s.item_id for s in record.before] == [s.item_id for s in record.after]:
        # Changed in place (a speed change with no slip): the same items get their speed and look back.
        for state, (_, item) in zip(record.before, added, strict=True):
            _restore_look(item, state)
            if state.speed is not None and _speed_of(item) != state.speed:
                raise _NotApplied(f"Resolve kept the new speed of the audio on A{state.track_index}")
        return [s.item_id for s in record.before]
    restored = []
    pools = {}
    for state, item in added:
        pools[state.media_id] = item.GetMediaPoolItem()
        _delete(session, [item], state.track_index)
    for state in record.before:
        mpi = pools.get(state.media_id)
        placed = _append_audio(session, mpi, state.track_index, state.record_start, state.source_in, state.source_out)
        if placed is None:
            raise _NotApplied(f"could not put the audio back on A{state.track_index} (the range is taken)")
        _restore_look(placed, state)
        restored.append(placed)
    video = _find_video(timeline, record.video_item_id)
    if video is not None:
        timeline.SetClipsLinked([video, *restored], True)
    return [str(p.GetUniqueId()) for p in restored]


def _find_video(timeline: Any, item_id: str) -> Any:
    for _, item in _track_items(timeline, "video"):
        if str(item.GetUniqueId()) == item_id:
            return item
    return None

