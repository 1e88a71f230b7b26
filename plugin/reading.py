"""Read a Resolve timeline into the plain records of :mod:`plugin.plan`, and what the run's scope keeps.

Which audio belongs to which picture is decided from the media: the items linked to a picture (or, before
19.0 or unlinked, the items of the same media under it) are sorted into the picture's own channels, a file
Auto Sync Audio linked to it, and other media (a recorder's WAV). Everything LipAlign cannot measure or
change yet (retimed, compound, nested and multicam items, offline media, stills, sound it cannot place)
is listed as skipped with the reason.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from core.probe import probe
from plugin.plan import AudioRef, ClipRef, Sound, TimelineInfo
from plugin.resolve_api import Capabilities, ResolveUnsupported, has_method
from plugin.session import Session, media_id, props, source_frames
from plugin.timemap import parse_frame_rate, parse_rate, round_half_away

__all__ = ["SCOPES", "Reading", "read_clips", "read_timeline_info", "scope_filter"]

SCOPES = ("timeline", "selection", "in-out")
# Media pool item types that hold other items (names as GetClipProperty("Type") gives them).
CONTAINERS = {"Compound": "a compound clip", "Timeline": "a nested timeline", "Multicam": "a multicam clip"}
# A Speed property this close to 100 (percent) is 100 %.
SPEED_SLACK = 0.01
TRACK_TYPES = {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}


def read_timeline_info(timeline: Any) -> TimelineInfo:
    """The timeline's name, id, exact frame rate (with drop frame) and absolute start frame."""
    rate_text = timeline.GetSetting("timelineFrameRate")
    drop = timeline.GetSetting("timelineDropFrameTimecode")
    unique = timeline.GetUniqueId() if has_method(timeline, "GetUniqueId") else ""
    start_tc = timeline.GetStartTimecode() if has_method(timeline, "GetStartTimecode") else ""
    return TimelineInfo(name=timeline.GetName(), unique_id=unique or "", frame_rate=parse_frame_rate(rate_text, drop),
                        start_frame=int(timeline.GetStartFrame()), start_timecode=start_tc or "")


@dataclass
class Reading:
    clips: list[ClipRef]
    items: dict[str, Any]  # unique id -> TimelineItem, for every item read
    skipped: list[dict[str, Any]]
    notes: list[str]


class _Skip(Exception):
    """This clip (and its sound) cannot be measured or changed: the message is the reason."""


def item_key(item: Any, track: str) -> str:
    """An item's unique id, or its place where it has none (a "thin" item, resolve-api.md §5)."""
    return str(item.GetUniqueId() or f"{track}@{item.GetStart()}")


def _skip_entry(item: Any, track: str, reason: str) -> dict[str, Any]:
    return {"item_id": item_key(item, track), "name": item.GetName(), "track": track,
            "record_start": int(item.GetStart()), "record_end": int(item.GetEnd()), "reason": reason}


def retimed_percent(item: Any, session: Session, clip_rate: Fraction) -> float | None:
    """The item's speed in percent when it is not 100 %, else None.

    Read from the Speed property (21.1), else from the source span it plays against its record span (19.0.2
    source times; resolve-api.md §5 "a retime can be read back as the span"), else from its offsets against
    the media's length. Spans are whole frames, so a difference under 1.5 frames is 100 %.
    """
    speed = session.speed_of(item)
    if speed is not None:
        return speed if abs(speed - 100.0) > SPEED_SLACK else None
    rate = session.info.frame_rate.rate
    duration = int(item.GetEnd()) - int(item.GetStart())
    if not duration:
        return None
    slack = Fraction(3, 2) / min(rate, clip_rate)
    if has_method(item, "GetSourceStartTime"):
        span = Fraction(item.GetSourceEndTime()).limit_denominator(10**6) - \
            Fraction(item.GetSourceStartTime()).limit_denominator(10**6)
        record_s = Fraction(duration) / rate
        return float(span / record_s * 100) if abs(span - record_s) > slack else None
    frames = str(props(item.GetMediaPoolItem()).get("Frames", ""))
    if frames.isdigit() and has_method(item, "GetRightOffset"):
        # At 100 % the head, the item and the tail add up to the whole media (in timeline frames) [inferred].
        played = Fraction(int(frames)) * rate / clip_rate - int(item.GetLeftOffset()) - int(item.GetRightOffset())
        return float(played / duration * 100) if abs(played - duration) > 1 else None
    return None


def _check_plain(item: Any, session: Session, clip_rate: Fraction) -> None:
    """Refuse what LipAlign cannot rebuild yet: retimed items and items holding other items."""
    kind = str(props(item.GetMediaPoolItem()).get("Type", ""))
    if kind in CONTAINERS:
        raise _Skip(f"{CONTAINERS[kind]}: LipAlign does not look inside it yet")
    speed = retimed_percent(item, session, clip_rate)
    if speed is not None:
        raise _Skip(f"plays at {speed:.1f} % speed: LipAlign handles clips at 100 % only (the audio arithmetic "
                    "and a re-append would not keep the speed)")


def _mapping(obj: Any, method: str) -> dict[str, Any] | None:
    if not has_method(obj, method):
        return None
    try:
        return json.loads(getattr(obj, method)() or "{}")
    except (TypeError, json.JSONDecodeError):
        return None


def sound_of(item: Any, picture_media: str, session: Session) -> Sound:
    """What ``item`` plays, decided from its media and its channel mapping.

    Raises
    ------
    _Skip
        The sound cannot be told or read on this Resolve (the reason says what is missing).
    """
    mpi = item.GetMediaPoolItem()
    clip = props(mpi)
    path = str(clip.get("File Path", ""))
    item_map = _mapping(item, "GetSourceAudioChannelMapping") or {}
    tracks = list(item_map.get("track_mapping", {}).values())
    channels = [int(c) for c in tracks[0].get("channel_idx", [])] if len(tracks) == 1 else []
    track_type = str(tracks[0].get("type", "")).lower() if len(tracks) == 1 else ""
    if media_id(mpi) != picture_media:
        return Sound("foreign", path, tuple(c - 1 for c in channels), track_type or _layout(clip))
    embedded = int(item_map.get("embedded_audio_channels", 0) or 0)
    if not item_map:
        if clip.get("Synced Audio"):
            raise _Skip(f"its media plays synced audio ({clip['Synced Audio']}), and Resolve "
                        f"{session.caps.version_text} cannot tell which sound this item plays "
                        "(GetSourceAudioChannelMapping arrived in 19.0.1)")
        return Sound("own", path, (), _layout(clip))
    if channels and all(c <= embedded for c in channels):
        return Sound("own", path, tuple(c - 1 for c in channels), track_type)
    first = embedded
    for entry in item_map.get("linked_audio", {}).values():
        count = int(entry.get("channels", 0))
        if channels and all(first < c <= first + count for c in channels):
            linked = str(entry.get("path", ""))
            rate = probe(linked).sample_rate if os.path.isfile(linked) else None
            if rate is None:
                raise _Skip(f"its synced audio {linked or '(no path)'} is offline")
            # "-100 means media offset 0 plays file_start + 100 samples" (resolve-api.md §1 "Audio Mapping").
            return Sound("linked", linked, tuple(c - first - 1 for c in channels), track_type,
                         Fraction(-int(entry.get("offset", 0)), rate))
        first += count
    raise _Skip("its channel mapping mixes the camera's channels with synced audio: LipAlign cannot place it")


def _layout(clip: dict[str, Any]) -> str:
    try:
        return TRACK_TYPES.get(int(clip.get("Audio Ch", "") or 0), "")
    except ValueError:
        return ""


def _audio_ref(item: Any, index: int, sound: Sound, session: Session, picture_rate: Fraction) -> AudioRef:
    mpi = item.GetMediaPoolItem()
    clip = props(mpi)
    try:
        rate = parse_rate(clip.get("FPS", ""))
    except ValueError:
        rate = picture_rate
    if sound.kind == "foreign":
        if not sound.path or not os.path.isfile(sound.path):
            raise _Skip(f"its sound {sound.path or '(no file path)'} is offline")
        _check_plain(item, session, rate)
    frames = clip.get("Frames")
    enabled = item.GetClipEnabled() if has_method(item, "GetClipEnabled") else True
    return AudioRef(item_key(item, f"A{index}"), index, int(item.GetStart()), int(item.GetEnd()),
                    Fraction(source_frames(int(item.GetLeftOffset()), rate, session.info.frame_rate.rate)),
                    bool(enabled), item.GetClipColor() or "", sound, media_id(mpi), rate,
                    int(frames) if str(frames).isdigit() else None)


def read_clips(session: Session) -> Reading:
    """Talking-head clips on the session's timeline: video items whose media has a face to measure, with
    every audio item linked to them (19.0 and later) or, unlinked, the items of the same media under them.
    Everything else is listed as skipped with the reason.
    """
    audio = {item_key(item, f"A{index}"): (index, item) for index, item in session.track_items("audio")}
    items = {key: item for key, (_, item) in audio.items()}
    used: set[str] = set()
    clips: list[ClipRef] = []
    skipped: list[dict[str, Any]] = []

    def partners_of(item: Any, picture_media: str | None) -> list[str]:
        found = []
        if has_method(item, "GetLinkedItems"):
            found = [item_key(p, "") for p in item.GetLinkedItems() or []]
            found = [p for p in found if p in audio and p not in used]
        if not found and picture_media is not None:
            start, end = int(item.GetStart()), int(item.GetEnd())
            found = [key for key, (_, a) in audio.items()
                     if key not in used and a.GetMediaPoolItem() is not None
                     and media_id(a.GetMediaPoolItem()) == picture_media
                     and int(a.GetStart()) < end and int(a.GetEnd()) > start]
        return found

    for index, item in session.track_items("video"):
        track = f"V{index}"
        key = item_key(item, track)
        items[key] = item
        mpi = item.GetMediaPoolItem()
        picture_media = media_id(mpi) if mpi is not None else None
        partners = partners_of(item, picture_media)
        try:
            clips.append(_clip(item, key, index, partners, audio, session))
        except _Skip as skip:
            # The clip's sound goes with its picture: skipped for the same reason, not as a stray audio item.
            skipped.append(_skip_entry(item, track, str(skip)))
            skipped.extend(_skip_entry(audio[p][1], f"A{audio[p][0]}", str(skip)) for p in partners)
        used.update(partners)
    for key, (a_index, a_item) in audio.items():
        if key in used:
            continue
        kind = str(props(a_item.GetMediaPoolItem()).get("Type", ""))
        reason = ("audio-only clip: no picture to measure the lips against" if "Video" not in kind
                  else "sound of a clip whose picture is not on the timeline here")
        skipped.append(_skip_entry(a_item, f"A{a_index}", reason))
    return Reading(clips, items, skipped, [])


def _clip(item: Any, key: str, index: int, partners: list[str], audio: dict[str, tuple[int, Any]],
          session: Session) -> ClipRef:
    mpi = item.GetMediaPoolItem()
    if mpi is None:
        raise _Skip("no media behind this item (title, generator or compound clip)")
    clip = props(mpi)
    kind = str(clip.get("Type", ""))
    path = str(clip.get("File Path", ""))
    if kind in CONTAINERS:
        raise _Skip(f"{CONTAINERS[kind]}: LipAlign does not look inside it yet")
    if "still" in kind.lower() or (clip.get("FPS") in (None, "", 0) and "Video" in kind):
        raise _Skip("still image: no sound to align")
    if not path or not os.path.isfile(path):
        raise _Skip(f"media offline: {path or 'no file path'} is not reachable")
    try:
        clip_rate = parse_rate(clip.get("FPS", ""))
    except ValueError:
        raise _Skip(f"the clip's frame rate {clip.get('FPS')!r} is unreadable") from None
    _check_plain(item, session, clip_rate)
    if not partners:
        raise _Skip("no audio item of this clip on the timeline" if "Audio" in kind
                    else f"the media has no sound ({kind or 'unknown type'}) and no audio is linked to it")
    picture_media = media_id(mpi)
    refs = []
    for pid in partners:
        a_index, a_item = audio[pid]
        if a_item.GetMediaPoolItem() is None:
            raise _Skip(f"the audio item on A{a_index} has no media behind it")
        sound = sound_of(a_item, picture_media, session)
        if not sound.on_timeline:
            _check_plain(a_item, session, clip_rate)
        refs.append(_audio_ref(a_item, a_index, sound, session, clip_rate))
    frames = clip.get("Frames")
    sample_rate = clip.get("Sample Rate")
    return ClipRef(
        name=item.GetName(), video_item_id=key, video_track_index=index, record_start=int(item.GetStart()),
        record_end=int(item.GetEnd()),
        source_in=Fraction(source_frames(int(item.GetLeftOffset()), clip_rate, session.info.frame_rate.rate)),
        media_path=path, media_id=picture_media, clip_rate=clip_rate, timeline_rate=session.info.frame_rate.rate,
        media_frames=int(frames) if str(frames).isdigit() else None,
        sample_rate=int(sample_rate) if str(sample_rate).isdigit() else None, audio=tuple(refs),
        color=item.GetClipColor() or "")


@dataclass(frozen=True)
class Scope:
    """Which clips a run looks at, read from the timeline before anything is changed.

    Clips are kept by where their items sit (track and record start), which a duplicate keeps although its
    items get new ids.
    """

    name: str
    note: str = ""
    places: frozenset[tuple[str, int, int]] | None = None
    media_ids: frozenset[str] | None = None
    frames: tuple[int, int] | None = None

    def keeps(self, clip: ClipRef) -> bool:
        if self.places is not None:
            own = {("video", clip.video_track_index, clip.record_start)}
            own |= {("audio", a.track_index, a.record_start) for a in clip.audio}
            return bool(own & self.places)
        if self.media_ids is not None:
            return clip.media_id in self.media_ids
        if self.frames is not None:
            return clip.record_start <= self.frames[1] and clip.record_end > self.frames[0]
        return True


def scope_filter(scope: str, session: Session) -> Scope:
    """What ``scope`` means in this Resolve, or a clear refusal: an empty selection is an error, not a guess.

    ``selection`` is the timeline's selected items from 21.0.4 (``Timeline.GetSelectedClips``), before that the
    clips whose media is selected in the Media Pool (19.0.2); ``in-out`` is every clip that overlaps the
    timeline's In and Out marks (``GetMarkInOut``, 19.1).

    Raises
    ------
    ResolveUnsupported
        Nothing selected or marked, or no way to read it in this version; raised before anything changes.
    """
    caps: Capabilities = session.caps
    timeline = session.timeline
    if scope == "timeline":
        return Scope(scope)
    if scope == "selection":
        if has_method(timeline, "GetSelectedClips"):
            chosen = timeline.GetSelectedClips() or []
            if not chosen:
                raise ResolveUnsupported("nothing is selected on the timeline: select the clips to align, or "
                                         "choose the whole timeline or In/Out; nothing was changed")
            places = frozenset((str(i.GetTrackTypeAndIndex()[0]), int(i.GetTrackTypeAndIndex()[1]),
                                int(i.GetStart())) for i in chosen)
            return Scope(scope, "selection: the clips selected on the timeline", places=places)
        if has_method(session.media_pool, "GetSelectedClips"):
            chosen = session.media_pool.GetSelectedClips() or []
            if not chosen:
                raise ResolveUnsupported(
                    f"nothing is selected in the Media Pool (Resolve {caps.version_text} reads no timeline selection; "
                    "21.0.4 does): select the clips' media, or choose the whole timeline or In/Out; "
                    "nothing was changed")
            return Scope(scope, "selection: the clips whose media is selected in the Media Pool (Resolve "
                                f"{caps.version_text} cannot read a timeline selection; 21.0.4 can)",
                         media_ids=frozenset(media_id(m) for m in chosen))
        raise ResolveUnsupported(f"Resolve {caps.version_text} cannot read a selection through its scripting API "
                                 "(19.0.2 reads the Media Pool's): align the whole timeline; nothing was changed")
    if scope == "in-out":
        if not has_method(timeline, "GetMarkInOut"):
            raise ResolveUnsupported(f"Resolve {caps.version_text} cannot read In/Out marks (GetMarkInOut arrived in "
                                     "19.1): align the whole timeline; nothing was changed")
        marks = timeline.GetMarkInOut() or {}
        mark = marks.get("video") or marks.get("audio")
        if not mark or "in" not in mark or "out" not in mark:
            raise ResolveUnsupported("the timeline has no In and Out marks: set them around the clips to align; "
                                     "nothing was changed")
        start = session.info.start_frame
        # Marks are offsets from the timeline start, the out mark included (public scripts add GetStartFrame()).
        first, last = start + int(mark["in"]), start + int(mark["out"])
        return Scope(scope, f"in-out: the clips between {round_half_away(mark['in'])} and "
                            f"{round_half_away(mark['out'])} frames into the timeline", frames=(first, last))
    raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
