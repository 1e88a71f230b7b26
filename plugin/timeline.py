"""Align the talking-head clips of a Resolve timeline: read, measure, decide, then edit a duplicate.

Only documented scripting-API methods are called on the ``resolve`` object, so the same code runs on the live
object of a Scripts-menu script, on ``DaVinciResolveScript.scriptapp("Resolve")``, on the bridge proxy and on
the test fake. The work is split by what it does: :mod:`plugin.reading` turns the timeline into the records of
:mod:`plugin.plan`, :mod:`plugin.measure` measures them, :func:`plugin.plan.decide` decides, the strategies of
:mod:`plugin.strategies` edit through the primitives of :class:`plugin.session.Session`, and
:mod:`plugin.revert` undoes it all.

The original timeline is never edited. A run that changes something makes one duplicate (made current, so the
editor sees it) and marks it with a legend; later runs on that duplicate edit it in place. On it every clip
LipAlign looked at gets a clip colour and a marker for its outcome, and every change an audit record.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.errors import MediaError
from core.model import Report, SyncResult
from core.progress import Cancelled, ProgressFn, no_progress, progress_part
from core.settings import STRATEGIES
from core.stopping import stops_held
from core.tolerance import PRESETS, Tolerance, parse_tolerance
from plugin.audit import LEGEND, AuditRecord, audit_records, legend_frame, legend_json, legend_note
from plugin.measure import Measurer
from plugin.plan import AudioRef, ClipRef, Decision, TimelineInfo, decide
from plugin.reading import SCOPES, Reading, Scope, read_clips, read_timeline_info, scope_filter
from plugin.render import render_folder
from plugin.resolve_api import ResolveUnsupported, has_method
from plugin.revert import SUMMARY_SCHEMA, open_project, revert_timeline
from plugin.session import NotApplied, Session
from plugin.strategies import Edit, apply

__all__ = ["SUMMARY_SCHEMA", "MeasuredClip", "TimelineMeasurement", "align_timeline", "apply_measurement", "clip_key",
           "measure_timeline", "revert_timeline"]


@dataclass
class _Sound:
    """One sound of one clip: its measurement and the decision about it."""

    group: tuple[AudioRef, ...]
    decision: Decision
    measurement: dict[str, Any] | None
    sync: SyncResult | None = None
    record: AuditRecord | None = None
    refused: bool = False  # the change was decided but could not be made (the timeline was left as it was)
    left: bool = False  # a change was decided, but the editor (or the confidence floor) chose to leave it


@dataclass
class MeasuredClip:
    """One talking-head clip of a measured timeline: its sounds, each measured and decided.

    ``ticked`` is whether the clip would be changed by default: it has a change to make and every sound's
    confidence reaches the run's ``min_confidence``. ``tickable`` is whether ticking it could change it: it
    has a change to make, or a withheld best reading the editor may accept.
    """

    clip: ClipRef
    sounds: list[_Sound]

    @property
    def key(self) -> str:
        return clip_key(self.clip)

    @property
    def confidence(self) -> float:
        return min((s.sync.confidence for s in self.sounds if s.sync is not None), default=0.0)

    def ticked(self, min_confidence: float) -> bool:
        return any(s.decision.action != "none" for s in self.sounds) and self.confidence >= min_confidence

    @property
    def tickable(self) -> bool:
        return any(s.decision.action != "none" or _best_reading(s.sync) is not None for s in self.sounds)


@dataclass
class TimelineMeasurement:
    """What one Measure found on the current timeline, before anything changed.

    It keeps the session and the measurer, so :func:`apply_measurement` edits with the same measurements
    (nothing is measured twice). ``complete`` is False when the run was cancelled: ``clips`` holds the clips
    measured before that, and only they can be changed.
    """

    session: Session
    original: TimelineInfo
    reused: bool
    scope: str
    chosen: Scope
    strategy: str
    tolerance: Tolerance
    min_confidence: float
    reading: Reading
    measurer: Measurer
    clips: list[MeasuredClip]
    complete: bool = True

    def default_ticks(self) -> set[str]:
        """The keys of the clips a run changes unless the editor says otherwise."""
        return {c.key for c in self.clips if c.ticked(self.min_confidence)}


def clip_key(clip: ClipRef) -> str:
    """Where a clip's picture sits (track and record start), which a duplicate timeline keeps (not its item id)."""
    return f"V{clip.video_track_index}@{clip.record_start}"


def _resolve_tolerance(tolerance: Tolerance | str | None) -> Tolerance:
    if tolerance is None:
        return PRESETS["broadcast"]
    return tolerance if isinstance(tolerance, Tolerance) else parse_tolerance(tolerance)


def align_timeline(resolve: Any, *, scope: str = "timeline", strategy: str = "auto", apply: bool = True,
                   progress: ProgressFn | None = None, tolerance: Tolerance | str | None = None,
                   analyze: Callable[[str], Report] | None = None, render_to: str | Path | None = None,
                   search_ms: float | None = None, min_confidence: float = 0.0) -> dict[str, Any]:
    """Measure every talking-head clip of the current timeline and bring its sound onto the lips.

    :func:`measure_timeline` then, with ``apply``, :func:`apply_measurement` of its default ticks.

    Parameters
    ----------
    resolve : the Resolve scripting object (live, external, bridged or fake).
    scope : ``"timeline"``, ``"selection"`` (the timeline's selection from 21.0.4, the Media Pool's before) or
        ``"in-out"`` (the clips between the timeline's In and Out marks, 19.1).
    strategy : ``"auto"``, ``"slip"``, ``"conform"`` or ``"speed"`` (see :func:`plugin.plan.decide`).
    apply : False measures and decides without touching the project.
    progress : called with (fraction done, stage).
    tolerance : what counts as in sync: a :class:`core.tolerance.Tolerance` or preset name (default broadcast,
        one frame either way).
    analyze : measures one media file's own sound; defaults to the lip analysis, once per file (or stretch).
    render_to : the folder for corrected audio (the configuration's); default a LipAlign folder in the project's
        cache folder.
    search_ms : the offset searched for first, either way (default the estimator's).
    min_confidence : clips measured with less confidence than this (0-1) are left for the editor.

    Returns
    -------
    dict
        ``schema``, ``timeline`` (the one edited, the original, whether a duplicate was made or reused),
        ``resolve``, ``clips`` (per clip: item ids, measurement, outcome, action, reason, new item ids),
        ``skipped`` (items LipAlign cannot measure or change, with the reason), ``legend`` and ``notes``.

    Raises
    ------
    ResolveUnsupported
        Resolve older than the manifest's minimum, no project or timeline, an empty selection or no In/Out
        marks, or a refused duplicate; raised before anything changes.
    ValueError
        Unknown scope or strategy, or a malformed tolerance or search range.
    """
    progress = progress or no_progress
    measured = measure_timeline(resolve, scope=scope, strategy=strategy, tolerance=tolerance, analyze=analyze,
                                search_ms=search_ms, min_confidence=min_confidence,
                                progress=progress_part(progress, 0.0, 0.9))
    return apply_measurement(measured, apply=apply, render_to=render_to, progress=progress_part(progress, 0.9, 1.0))


def measure_timeline(resolve: Any, *, scope: str = "timeline", strategy: str = "auto",
                     tolerance: Tolerance | str | None = None, analyze: Callable[[str], Report] | None = None,
                     search_ms: float | None = None, min_confidence: float = 0.0,
                     progress: ProgressFn | None = None) -> TimelineMeasurement:
    """Read the current timeline and measure and decide each of its talking-head clips; change nothing.

    ``progress`` may raise :class:`core.progress.Cancelled` (checked many times within each clip): the clips
    measured before it are kept and the measurement is returned with ``complete`` False. The other
    parameters are those of :func:`align_timeline`.
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if not 0.0 <= min_confidence <= 1.0:
        raise ValueError(f"the confidence below which clips are left must be 0 to 1, not {min_confidence:g}")
    progress = progress or no_progress
    tol = _resolve_tolerance(tolerance)
    session = open_project(resolve)
    reused = legend_frame(session.timeline.GetMarkers() or {}) is not None
    chosen = scope_filter(scope, session)
    reading = _read(session, chosen)
    measurer = Measurer(tol, analyze, search_ms=search_ms)
    measurer.plan(reading.clips)
    found = TimelineMeasurement(session, session.info, reused, scope, chosen, strategy, tol, min_confidence,
                                reading, measurer, [])
    count = max(len(reading.clips), 1)
    try:
        for number, clip in enumerate(reading.clips):
            def within(fraction: float, stage: str, number: int = number, name: str = clip.name) -> None:
                progress((number + fraction) / count, f"measuring {name}: {stage}")

            within(0.0, "reading")
            measurer.progress = within
            found.clips.append(MeasuredClip(clip, _plan_clip(session, clip, measurer, strategy, tol)))
    except Cancelled:
        found.complete = False
        reading.notes.append(f"cancelled after measuring {len(found.clips)} of {len(reading.clips)} clips: only "
                             "those can be changed")
    finally:
        measurer.progress = no_progress
        measurer.release_sounds()
    if found.complete:  # a cancelled run's progress would only raise again
        progress(1.0, "measured")
    return found


def apply_measurement(measured: TimelineMeasurement, *, ticked: Collection[str] | None = None, apply: bool = True,
                      render_to: str | Path | None = None, progress: ProgressFn | None = None) -> dict[str, Any]:
    """Make the changes a measurement decided, on a duplicate of the timeline, for the ticked clips.

    Parameters
    ----------
    measured : from :func:`measure_timeline` (its timeline must still be the current one).
    ticked : keys (:func:`clip_key`) of the clips to change; default :meth:`TimelineMeasurement.default_ticks`.
        A ticked clip whose measurement was withheld gets its best reading; an unticked clip is left as it is.
    apply : False only reports what would be done.
    render_to : see :func:`align_timeline`.
    progress : called with (fraction done, stage) once per clip.

    Returns
    -------
    dict
        The run's summary, as :func:`align_timeline` returns it.
    """
    progress = progress or no_progress
    session, tol, strategy, measurer = measured.session, measured.tolerance, measured.strategy, measured.measurer
    ticks = measured.default_ticks() if ticked is None else set(ticked)
    reading, original, reused = measured.reading, measured.original, measured.reused
    plans = [(m.clip, _ticked(m, m.key in ticks, measured.min_confidence, session, strategy, tol))
             for m in measured.clips]
    folder, where = render_folder(session.project, render_to)
    changes = apply and any(s.decision.action != "none" for _, sounds in plans for s in sounds)
    if changes and not reused:
        session = _duplicate(session)
        reading = _read(session, measured.chosen)
        by_key = {m.key: m for m in measured.clips}
        plans = [(clip, _ticked(MeasuredClip(clip, _plan_clip(session, clip, measurer, strategy, tol)),
                                clip_key(clip) in ticks, measured.min_confidence, session, strategy, tol))
                 for clip in reading.clips if clip_key(clip) in by_key]
    edited = changes or (apply and reused)
    entries = []
    try:
        sequence = _last_sequence(session) + 1
        for number, (clip, sounds) in enumerate(plans):
            progress(number / max(len(plans), 1), f"{'changing' if edited else 'deciding'} {clip.name}")
            entry = _entry(clip, sounds)
            if edited:
                sequence = _edit_clip(session, clip, sounds, reading, strategy, folder, entry, sequence)
            entries.append(entry)
        if edited:
            _mark_skipped(session, reading, sequence)
            if not reused:
                _add_legend(session, original)
    finally:
        session.restore_page()
        measurer.release_sounds()
    progress(1.0, "done")
    notes = list(reading.notes)
    if apply and not edited:
        notes.append("nothing to change: no duplicate timeline was made")
    if any(e["action"] in ("slip", "speed") for e in entries):
        notes.append("slipped audio was deleted and re-appended with its colour, enabled state, flags, markers, "
                     "name, clip gain and fades; clip EQ and FairlightFX cannot be read through the scripting "
                     "API, so an item that had them needs them again (revert restores the original)")
    if any(e["action"] == "conform" for e in entries):
        notes.append(f"{where}: {folder}")
    info = session.info
    return {
        "schema": SUMMARY_SCHEMA,
        "timeline": {"name": info.name, "id": info.unique_id, "frame_rate": str(info.frame_rate),
                     "start_frame": info.start_frame, "start_timecode": info.start_timecode,
                     "duplicate": edited and not reused, "reused": edited and reused,
                     "original": {"name": original.name, "id": original.unique_id}},
        "resolve": session.caps.to_dict(),
        "scope": measured.scope, "strategy": strategy, "apply": apply, "tolerance": tol.name,
        "min_confidence": measured.min_confidence, "complete": measured.complete,
        "clips": entries, "skipped": reading.skipped, "notes": notes,
        "legend": {name: {"clip_color": o.clip_color, "marker_color": o.marker_color, "meaning": o.meaning}
                   for name, o in LEGEND.items()},
    }


def _best_reading(sync: SyncResult | None) -> SyncResult | None:
    """A withheld measurement taken at its best reading, for an editor who ticks it (None when there is none)."""
    if sync is None or sync.verdict != "inconclusive" or sync.offset_ms is None:
        return None
    return replace(sync, verdict="offset", drift_ms_per_min=0.0, splices=[])


def _ticked(measured: MeasuredClip, ticked: bool, min_confidence: float, session: Session, strategy: str,
            tol: Tolerance) -> list[_Sound]:
    """The clip's sounds with the editor's choice applied: unticked ones left, ticked withheld ones accepted."""
    clip, sounds = measured.clip, measured.sounds
    if not ticked:
        if measured.ticked(min_confidence):
            why = "unticked in the review"
        elif measured.confidence < min_confidence and any(s.decision.action != "none" for s in sounds):
            why = (f"measured with {measured.confidence:.0%} confidence, under the {min_confidence:.0%} below which "
                   "clips are left for the editor")
        else:
            return sounds
        return [replace(s, left=True, decision=replace(s.decision, action="none", reason=f"{s.decision.reason}; "
                                                       f"{why}: left as it was")) if s.decision.action != "none"
                else s for s in sounds]
    accepted = []
    for sound in sounds:
        best = _best_reading(sound.sync) if sound.decision.action == "none" else None
        if best is None:
            accepted.append(sound)
            continue
        decision = _decision(session, clip, sound.group, best, strategy, tol)
        decision = replace(decision, reason=f"the editor accepted the withheld best reading ({best.offset_ms:+.0f} ms, "
                                            f"{best.confidence:.0%} confidence): {decision.reason}")
        accepted.append(replace(sound, decision=decision, measurement=_measurement(best, decision, sound.group)))
    return accepted


def _read(session: Session, chosen: Any) -> Reading:
    reading = read_clips(session)
    if chosen.note:
        reading.notes.append(chosen.note)
    reading.clips = [c for c in reading.clips if chosen.keeps(c)]
    return reading


def _plan_clip(session: Session, clip: ClipRef, measurer: Measurer, strategy: str,
               tol: Tolerance) -> list[_Sound]:
    """Measure and decide each sound of ``clip``."""
    sounds = []
    for group in clip.sounds():
        if not any(a.enabled for a in group):
            sounds.append(_Sound(group, Decision("none", "its audio is disabled on the timeline (muted by the editor, "
                                                         "or replaced by corrected audio from an earlier LipAlign "
                                                         "run): left alone"), None))
            continue
        try:
            sync = measurer.heard(clip, group[0]) if group[0].sound.on_timeline else measurer.media(clip).sync
        except MediaError as exc:
            sounds.append(_Sound(group, Decision("none", f"not measured: {exc}"), None))
            continue
        decision = _decision(session, clip, group, sync, strategy, tol)
        sounds.append(_Sound(group, decision, _measurement(sync, decision, group), sync))
    return sounds


def _decision(session: Session, clip: ClipRef, group: tuple[AudioRef, ...], sync: SyncResult, strategy: str,
              tol: Tolerance) -> Decision:
    decision = decide(clip, sync, strategy=strategy, tolerance=tol, group=group,
                      speed_available=session.caps.speed_property and not group[0].sound.on_timeline)
    if strategy == "auto" and decision.slip_frames and decision.action in ("slip", "speed"):
        decision = _unless_a_rebuild_drops(session, clip, group, decision)
    return decision


def _unless_a_rebuild_drops(session: Session, clip: ClipRef, group: tuple[AudioRef, ...],
                            decision: Decision) -> Decision:
    """A whole-frame slip deletes and re-appends the items; where that would drop what this Resolve cannot
    read back (clip gain and fades before 21.1, a changed channel mapping), render corrected audio instead."""
    items = {str(i.GetUniqueId()): i for _, i in session.track_items("audio")}
    drops = sorted({d for a in group for d in session.what_a_rebuild_drops(
        items[a.item_id], session.state(items[a.item_id], "audio", a.track_index, a.clip_rate or clip.clip_rate))})
    if not drops:
        return decision
    return replace(decision, action="conform", reason=f"{decision.reason}; rendered rather than slipped, since "
                   "deleting and re-appending the audio would drop " + "; ".join(drops))


def _measurement(sync: SyncResult, decision: Decision, group: tuple[AudioRef, ...]) -> dict[str, Any]:
    return {"verdict": sync.verdict, "offset_ms": sync.offset_ms, "drift_ms_per_min": sync.drift_ms_per_min,
            "confidence": sync.confidence, "reason": sync.reason, "splices": list(sync.splices),
            "windows": len(sync.windows), "measured": "on the timeline" if group[0].sound.on_timeline else "media",
            "sound": group[0].sound.kind, "offset_in_ms": decision.offset_in_ms,
            "offset_out_ms": decision.offset_out_ms, "timeline_lag_ms": decision.timeline_lag_ms,
            "slip_frames": decision.slip_frames, "residual_ms": list(decision.residual_ms or []) or None,
            "speed_ratio": decision.speed_ratio}


def _outcome(sounds: list[_Sound]) -> str:
    """The clip's outcome in the legend: the most telling of its sounds'."""
    records = [s.record for s in sounds if s.record is not None]
    if any(r.outcome == "missing" for r in records):
        return "missing"
    if records:
        return "changed"
    if any(s.decision.check or s.refused for s in sounds):
        return "check"
    if any(s.left for s in sounds):
        return "left"
    verdicts = [s.measurement["verdict"] if s.measurement else None for s in sounds]
    if verdicts and all(v is not None and v != "inconclusive" for v in verdicts) and all(
            "in sync" in s.decision.reason for s in sounds):
        return "in_sync"
    return "inconclusive"


def _entry(clip: ClipRef, sounds: list[_Sound]) -> dict[str, Any]:
    """The clip's line in the summary (before any edit)."""
    first = sounds[0] if sounds else None
    return {
        "key": clip_key(clip), "clip": clip.name, "video_item_id": clip.video_item_id,
        "audio_item_ids": [a.item_id for a in clip.audio],
        "track": f"V{clip.video_track_index}", "audio_tracks": [f"A{a.track_index}" for a in clip.audio],
        "record_start": clip.record_start, "record_end": clip.record_end, "media_path": clip.media_path,
        "measurement": first.measurement if first else None,
        "planned": first.decision.action if first else "none", "action": "none",
        "reason": "; ".join(s.decision.reason for s in sounds), "new_item_ids": [],
        "outcome": _outcome(sounds),
        "sounds": [{"audio_item_ids": [a.item_id for a in s.group], "sound": s.group[0].sound.kind,
                    "measurement": s.measurement, "planned": s.decision.action, "action": "none",
                    "reason": s.decision.reason} for s in sounds],
    }


def _edit_clip(session: Session, clip: ClipRef, sounds: list[_Sound], reading: Reading, strategy: str,
               folder: Path, entry: dict[str, Any], sequence: int) -> int:
    """Apply each sound's decision, then colour and mark the clip by its outcome; the next record number."""
    for sound, line in zip(sounds, entry["sounds"], strict=True):
        if sound.decision.action == "none":
            continue
        locked = [a.track_index for a in sound.group if session.timeline.GetIsTrackLocked("audio", a.track_index)]
        if locked:
            line["reason"] = f"audio track A{locked[0]} is locked: unlock it to let LipAlign change this clip"
            sound.refused = True
            continue
        edit = Edit(session, clip, sound.group, sound.decision, strategy, sound.measurement or {}, reading.items,
                    folder)
        try:
            frame = session.free_marker_frame(clip.record_start, clip.record_end)
            with stops_held():  # a stop signal waits for the sound's edit to be whole (or put back)
                record = apply(edit)
                sound.record = replace(record, sequence=sequence)
                sequence += 1
                _colour_and_mark(session, clip, reading, sound.record, frame)
        except NotApplied as exc:
            line["reason"] = str(exc)
            sound.refused = True
            continue
        line["action"] = sound.decision.action if not sound.record.missing else "missing"
        line["reason"] = sound.record.reason or line["reason"]
        line["new_item_ids"] = [s.item_id for s in sound.record.after]
    done = [line for line in entry["sounds"] if line["action"] != "none"]
    entry["outcome"] = _outcome(sounds)
    entry["reason"] = "; ".join(line["reason"] for line in entry["sounds"])
    if done:
        entry["action"] = done[0]["action"]
        entry["new_item_ids"] = [i for line in done for i in line.get("new_item_ids", [])]
        return sequence
    return _mark_outcome(session, clip, reading, entry, sequence)


def _colour_and_mark(session: Session, clip: ClipRef, reading: Reading, record: AuditRecord, frame: int) -> None:
    """Colour a changed clip (its picture and new items) and leave its audit marker."""
    outcome = LEGEND[record.outcome]
    video = reading.items[clip.video_item_id]
    previous = {clip.video_item_id: video.GetClipColor() or ""}
    video.SetClipColor(outcome.clip_color)
    for state in record.after:
        item = session.find("audio", state.track_index, item_id=state.item_id)
        if item is not None:
            item.SetClipColor(outcome.clip_color)
    session.mark(frame, replace(record, recolored=previous), outcome.marker_color)


def _mark_outcome(session: Session, clip: ClipRef, reading: Reading, entry: dict[str, Any], sequence: int) -> int:
    """Colour and mark a clip LipAlign did not change, replacing its marker from an earlier run."""
    items = [clip.video_item_id, *(a.item_id for a in clip.audio)]
    return _recolour(session, clip.name, clip.video_item_id, clip.media_path, items, reading, entry["outcome"],
                     entry["reason"], (clip.record_start, clip.record_end), sequence)


def _recolour(session: Session, name: str, video_id: str, media_path: str, item_ids: list[str], reading: Reading,
              outcome: str, reason: str, span: tuple[int, int], sequence: int) -> int:
    earlier = {}
    for frame, record in audit_records(session.timeline.GetMarkers() or {}):
        if record.outcome not in ("changed", "missing") and set(record.recolored) & set(item_ids):
            earlier.update(record.recolored)  # the colours from before LipAlign's first run count
            session.timeline.DeleteMarkerAtFrame(frame)
    try:
        frame = session.free_marker_frame(*span)
    except NotApplied:
        return sequence
    previous = {i: earlier.get(i, reading.items[i].GetClipColor() or "") for i in item_ids if i in reading.items}
    for item_id in previous:
        reading.items[item_id].SetClipColor(LEGEND[outcome].clip_color)
    record = AuditRecord(action=outcome, strategy="", clip=name, video_item_id=video_id, media_path=media_path,
                         measurement={}, before=[], after=[], recolored=previous, reason=reason, sequence=sequence,
                         resolve_version=session.caps.version_text)
    session.mark(frame, record, LEGEND[outcome].marker_color)
    return sequence + 1


def _mark_skipped(session: Session, reading: Reading, sequence: int) -> None:
    """Colour and mark every skipped item: one marker for a picture and the sound skipped with it."""
    pictures = [s for s in reading.skipped if s["track"].startswith("V")]
    covered: set[str] = set()
    for picture in pictures:
        sound = [s["item_id"] for s in reading.skipped
                 if s["track"].startswith("A") and s["reason"] == picture["reason"]
                 and s["record_start"] < picture["record_end"] and s["record_end"] > picture["record_start"]]
        covered.update(sound)
        sequence = _recolour(session, picture["name"], picture["item_id"], "", [picture["item_id"], *sound], reading,
                             "skipped", picture["reason"], (picture["record_start"], picture["record_end"]), sequence)
    for alone in reading.skipped:
        if alone["track"].startswith("A") and alone["item_id"] not in covered:
            sequence = _recolour(session, alone["name"], alone["item_id"], "", [alone["item_id"]], reading, "skipped",
                                 alone["reason"], (alone["record_start"], alone["record_end"]), sequence)


def _last_sequence(session: Session) -> int:
    records = audit_records(session.timeline.GetMarkers() or {})
    return max((r.sequence for _, r in records), default=0)


def _add_legend(session: Session, original: Any) -> None:
    """The legend marker on the duplicate's first free frame: what each colour means, and where it came from."""
    taken = {round(float(f)) for f in (session.timeline.GetMarkers() or {})}
    frame = next(f for f in range(len(taken) + 1) if f not in taken)
    session.timeline.AddMarker(frame, "Blue", "LipAlign legend", legend_note(), 1,
                               legend_json(original.name, original.unique_id))


def _duplicate(session: Session) -> Session:
    """A session on a copy of the session's timeline, made current; the original is never edited.

    DuplicateTimeline is in every README since 17.4, so every supported version has it.
    """
    timeline, project, caps = session.timeline, session.project, session.caps
    if not has_method(timeline, "DuplicateTimeline"):
        raise ResolveUnsupported("this Resolve cannot duplicate a timeline through its scripting API")
    taken = {project.GetTimelineByIndex(i).GetName() for i in range(1, int(project.GetTimelineCount() or 0) + 1)}
    name, n = f"{session.info.name} [LipAlign]", 2
    while name in taken:
        name, n = f"{session.info.name} [LipAlign {n}]", n + 1
    copy = timeline.DuplicateTimeline(name)
    if copy is None:
        raise ResolveUnsupported(caps.refused("duplicate the timeline") + "; nothing was changed")
    project.SetCurrentTimeline(copy)
    return Session(session.resolve, project, session.media_pool, copy, caps, read_timeline_info(copy))
