"""The three ways LipAlign corrects one sound of a clip, each ending in an audit record or a clean refusal.

``slip`` moves the audio items by whole frames (delete and verified re-append, so only where nothing the API
cannot rebuild would be dropped); ``conform`` adds corrected audio on tracks of the same type, one item per
original item with its own channels, and disables the originals; ``speed`` sets the audio's speed (21.1) after
a whole-frame slip. A refusal raises :class:`plugin.session.NotApplied` with the timeline as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from plugin.audit import AuditRecord, ItemState
from plugin.plan import AudioRef, ClipRef, Decision, plan_slip
from plugin.render import render_sound
from plugin.session import SPEED_KEY, NotApplied, Session, props
from plugin.timemap import parse_rate, round_half_away

__all__ = ["Edit", "apply"]

SPEED_PRECISION = 0.01  # percent: a read-back this close is taken (0.01 % of a minute is 6 ms)
# Audio-only appends were checked against the video tracks until 20.2.2 (Scripting API Changelog 20.2.2).
TRACK_CHECK_BUG = ((20, 0, 0), (20, 2, 2))


@dataclass
class Edit:
    """One sound of one clip to correct, and what the run knows around it."""

    session: Session
    clip: ClipRef
    group: tuple[AudioRef, ...]
    decision: Decision
    strategy: str
    measurement: dict[str, Any]
    items: dict[str, Any]
    folder: Path

    def item(self, audio: AudioRef) -> Any:
        return self.items[audio.item_id]

    def rate(self, audio: AudioRef) -> Fraction:
        return audio.clip_rate or self.clip.clip_rate

    def state(self, audio: AudioRef, item: Any = None, *, speed: bool = False) -> ItemState:
        return self.session.state(item or self.item(audio), "audio", audio.track_index, self.rate(audio), speed=speed)

    def record(self, action: str, before: list[ItemState], after: list[ItemState], **extra: Any) -> AuditRecord:
        return AuditRecord(action=action, strategy=self.strategy, clip=self.clip.name,
                           video_item_id=self.clip.video_item_id, media_path=self.clip.media_path,
                           measurement=self.measurement, before=before, after=after,
                           resolve_version=self.session.caps.version_text, **extra)

    def relink(self, new_items: list[Any]) -> None:
        """Link the picture again with every sound it was linked with (the moved items replaced)."""
        video = self.items[self.clip.video_item_id]
        moved = {a.item_id for a in self.group}
        others = [self.items[a.item_id] for a in self.clip.audio if a.item_id not in moved]
        self.session.relink([video, *others, *new_items])


def apply(edit: Edit) -> AuditRecord:
    """Make the decided change; the record says what was done (and, after a double failure, what is missing)."""
    action = edit.decision.action
    if action == "slip":
        return _slip(edit)
    if action == "speed":
        return _speed(edit)
    return _conform(edit)


def _check_rebuild(edit: Edit) -> None:
    """Refuse, before anything is deleted, a delete and re-append that would lose what the API cannot rebuild."""
    session = edit.session
    low, high = TRACK_CHECK_BUG
    for audio in edit.group:
        drops = session.what_a_rebuild_drops(edit.item(audio), edit.state(audio))
        if drops:
            raise NotApplied("not slipped: deleting and re-appending the audio would drop " + "; ".join(drops)
                             + ". Conform keeps the original item (disabled) and adds corrected audio")
        if low <= session.caps.version < high and audio.track_index > int(session.timeline.GetTrackCount("video")):
            raise NotApplied(f"not slipped: Resolve {session.caps.version_text} refuses audio-only appends to A"
                             f"{audio.track_index} while there are fewer video tracks (fixed in 20.2.2), so the "
                             "audio could not be put back")


def _room(edit: Edit, audio: AudioRef, start: int, end: int) -> bool:
    """Whether ``[start, end)`` on the item's track holds nothing but the item itself."""
    return all(str(i.GetUniqueId()) == audio.item_id or int(i.GetEnd()) <= start or int(i.GetStart()) >= end
               for i in edit.session.timeline.GetItemListInTrack("audio", audio.track_index) or [])


def _move(edit: Edit, frames: int) -> tuple[list[ItemState], list[Any], list[ItemState]]:
    """Delete and re-append every item of the sound ``frames`` timeline frames earlier.

    Returns the states before, the new items, and the states of items that are missing (deleted, and neither
    re-appended nor restored). When a placement fails but its restore works, the items already moved go back
    too and :class:`NotApplied` is raised: the sound is never left half-moved.
    """
    session = edit.session
    plans = []
    for audio in edit.group:
        try:
            target = plan_slip(edit.clip, audio, frames, session.info.start_frame)
        except ValueError as exc:
            raise NotApplied(f"cannot slip: {exc}") from None
        if not _room(edit, audio, target.record_start, target.record_end):
            raise NotApplied(f"no room on A{audio.track_index} to move the audio {frames:+d} frame(s) (another item "
                             "is in the way): left as it was")
        plans.append((audio, target))
    _check_rebuild(edit)
    before: list[ItemState] = []
    placed: list[Any] = []
    for audio, target in plans:
        item = edit.item(audio)
        state = edit.state(audio, speed=session.caps.speed_property)
        mpi = item.GetMediaPoolItem()

        def place(mpi: Any = mpi, target: Any = target, track: int = audio.track_index) -> Any:
            return session.append_audio(mpi, track, target.record_start, target.source_in, target.source_out)

        try:
            new, missing = session.replace_audio(item, state, place)
        except NotApplied:
            put_back = session.find("audio", state.track_index, record_start=state.record_start,
                                    record_end=state.record_end, media=state.media_id)
            _undo_moves(edit, before, placed, put_back)
            raise
        if missing is not None:
            return [*before, state], placed, [missing]
        session.restore_look(new, state)
        before.append(state)
        placed.append(new)
    return before, placed, []


def _undo_moves(edit: Edit, before: list[ItemState], placed: list[Any], *restored: Any) -> None:
    """Put the items already moved back where they were (each verified), and relink them with ``restored``
    (items already put back)."""
    session = edit.session
    restored = list(restored)
    for new, state in zip(placed, before, strict=True):
        mpi = new.GetMediaPoolItem()
        session.delete(new, state.track_index)
        restored.append(session.put_back(mpi, state))
    edit.relink(restored)


def _slip(edit: Edit) -> AuditRecord:
    frames = edit.decision.slip_frames
    before, placed, missing = _move(edit, frames)
    edit.relink(placed)
    after = [edit.state(a, new) for a, new in zip(edit.group, placed, strict=False)]
    if missing:
        return edit.record("slip", before, after, missing=missing, reason=_missing_reason(edit, missing))
    return edit.record("slip", before, after)


def _missing_reason(edit: Edit, missing: list[ItemState]) -> str:
    start = edit.session.info.start_frame
    return ("Resolve refused to place the moved audio and then to put the original back: "
            + "; ".join(f"the audio on A{s.track_index} is missing. Revert puts it back; by hand, "
                        f"{s.how_to_restore(start)}" for s in missing))


def _speed(edit: Edit) -> AuditRecord:
    """Play the sound ``decision.speed_ratio`` times as fast, after a whole-frame slip if one is due.

    The speed goes on the audio items only; the picture keeps its timing. Resolve reads the speed back, and
    a value it did not take undoes the change (slip included) before reporting the refusal.
    """
    session = edit.session
    decision = edit.decision
    before = [edit.state(a, speed=True) for a in edit.group]
    items = [edit.item(a) for a in edit.group]
    if decision.slip_frames:
        before, items, missing = _move(edit, decision.slip_frames)
        if missing:
            edit.relink(items)
            return edit.record("slip", before, [edit.state(a, i) for a, i in zip(edit.group, items, strict=False)],
                               missing=missing, reason=_missing_reason(edit, missing))
    # The 21.1 changelog names the "Speed" property but not its units; percent (100 = normal), as the Edit
    # page's Change Clip Speed shows it, is a guess shared with the fake.
    percent = decision.speed_ratio * 100.0
    for item in items:
        if not item.SetProperty(SPEED_KEY, percent) or abs((session.speed_of(item) or 0.0) - percent) > SPEED_PRECISION:
            for other, state in zip(items, before, strict=True):
                other.SetProperty(SPEED_KEY, state.speed or 100.0)
            if decision.slip_frames:
                _undo_moves(edit, before, items)
            raise NotApplied(session.caps.refused(f"set the audio speed to {percent:.4f} %") + "; left as it was")
    edit.relink(items)
    return edit.record("speed", before, [edit.state(a, i, speed=True) for a, i in zip(edit.group, items, strict=True)])


def _conform(edit: Edit) -> AuditRecord:
    """Render every channel of every item of the sound, corrected, and place each under its original on a new
    track of the same type; then disable the originals (kept, so nothing is lost).

    Each corrected file's time 0 is its source's, so it is placed with the source range of the item it
    replaces. Resolve gives an imported WAV the project's frame rate; when the in point falls between two of
    its frames, the sub-frame rest is baked into the file.
    """
    session = edit.session
    decision = edit.decision
    project_rate = _project_rate(session)
    drift = decision.drift_ms_per_min
    # The offset to remove at the file's time 0 (the decision's is at the picture's in point).
    offset = decision.offset_in_ms - drift * float(edit.clip.timing.media_in_s) / 60.0
    placed: list[tuple[AudioRef, Any, int]] = []
    files = []
    taken: set[int] = set()
    try:
        for audio in edit.group:
            file_in_s = edit.clip.audio_timing(audio).media_in_s + audio.sound.file_offset_s
            wav_in = file_in_s * project_rate
            whole_in = wav_in.numerator // wav_in.denominator
            lead = file_in_s - Fraction(whole_in) / project_rate  # played this much early if placed from whole_in
            wav = render_sound(edit.folder, audio.sound, offset, drift, lead)
            files.append(str(wav))
            mpi = session.import_media(str(wav))
            frames = round_half_away(Fraction(audio.record_end - audio.record_start) * project_rate
                                     / edit.clip.timeline_rate)
            track = session.free_track(audio.record_start, audio.record_end, _track_type(audio, mpi), taken)
            new = session.append_audio(mpi, track, audio.record_start, whole_in, whole_in + frames)
            if new is None:
                raise NotApplied(session.caps.refused(f"place the corrected audio on A{track}"))
            taken.add(track)
            placed.append((audio, new, track))
        before = [edit.state(a) for a in edit.group]
        for audio in edit.group:
            item = edit.item(audio)
            if not item.SetClipEnabled(False) or item.GetClipEnabled():
                raise NotApplied(session.caps.refused(f"disable the original audio on A{audio.track_index}"))
    except NotApplied as exc:
        for _, new, track in placed:
            session.delete(new, track)
        for audio in edit.group:
            edit.item(audio).SetClipEnabled(audio.enabled)
        raise NotApplied(f"{exc}; the corrected audio placed so far was removed again") from None
    after = [session.state(new, "audio", track, _project_rate(session)) for _, new, track in placed]
    return edit.record("conform", before, after, disabled=[a.item_id for a in edit.group],
                       added_tracks=sorted({t for _, _, t in placed} & set(session.added_tracks)),
                       rendered_files=files)


def _track_type(audio: AudioRef, mpi: Any) -> str:
    """The track type the corrected item needs: the original's layout, else one by its channel count."""
    if audio.sound.track_type:
        return audio.sound.track_type
    channels = int(props(mpi).get("Audio Ch", "") or 2)
    return "mono" if channels == 1 else "stereo"


def _project_rate(session: Session) -> Fraction:
    """The project's frame rate, which Resolve gives a WAV at import."""
    try:
        return parse_rate(session.project.GetSetting("timelineFrameRate"))
    except (ValueError, TypeError):
        return session.info.frame_rate.rate

