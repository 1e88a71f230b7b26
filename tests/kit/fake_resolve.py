"""A faithful, deterministic fake of DaVinci Resolve's scripting object model, for tests.

It behaves the way ``../shared/docs/resolve-api.md`` (cited below as "api §N") says Resolve behaves,
including the traps third parties measured on a live Resolve. Each behaviour names its source:

- Versions gate methods: a method absent in the configured version is missing from ``dir()`` and, as
  on a live Resolve, *any* unknown attribute reads as ``None`` rather than raising, so ``hasattr``
  always says True ("hasattr() is unreliable on Resolve objects; use dir(obj)", api §5).
- ``AppendToTimeline`` (api §1 MediaPool, §5 "Placement"): ``recordFrame`` is absolute; ``endFrame``
  is exclusive from 19.0 and inclusive before (the convention changed between 18.6 and 19.x); any
  non-integer frame rejects the whole batch (returns None); an item overlapping an occupied span is
  silently dropped (earlier wins); items aimed at a locked track are dropped; it appends to the
  *current* timeline; ``trackIndex``/``recordFrame`` are ignored before 18.5; start/end are source
  frames and the record duration is the floored conversion when rates differ.
- ``Timeline.DeleteClips`` returns False off the Edit page; it deletes only the items passed (linked
  partners stay) (api §5 "Deleting, moving and linking").
- There is no position, trim or speed setter; ``SetProperty("Speed")`` works only from 21.1, as do
  the audio properties (users-and-competitors §3.4, the brief's 21.1 changelog note).
- Indices of tracks and timelines are 1-based (api §1).
- ``GetProductName`` tells Studio from free; ``scriptapp`` refuses external scripting on free (api §2).
- ``GetClipProperty`` values are strings except ``FPS``, a float (api §1 "GetClipProperty keys"); a
  WAV's FPS is the project frame rate at import time, frozen (api §5 "Mixed frame rates").
- Timeline markers are keyed by float offsets from the timeline start (README example "96.0", api §1).

Behaviours added for double-system sound, failed appends, retimes and channel layouts (each cites its source
again where it is coded):

- Appends refused by known bugs: before 20.2.2 (from 20.0) an audio-only append checks ``trackIndex`` against
  the *video* tracks; on 20.3.0 and 20.3.1 an append fails while nothing is selected in the Media Pool
  (Resolve Scripting API Changelog 20.2.2 and 20.3.2). ``refuse_appends`` injects refusals (a locked track,
  a dialog, a free-edition limit: api §5 "Placement"); a refused placement returns a "thin" item whose every
  getter answers None (api §5 "Overlaps", AYON lib.py).
- Audio layout: a pool item has audio *tracks* (``track_mapping`` of ``GetAudioMapping``, 19.0) made of
  source channels; an audio append places one item per track on consecutive audio tracks, and each item
  reports its own track through ``GetSourceAudioChannelMapping`` (19.0.1) (README "Audio Mapping").
  ``link_audio`` is what Auto Sync Audio leaves (a linked file with an offset in samples, and the
  "Synced Audio" clip property); ``set_audio_tracks`` is the Clip Attributes > Audio dialog.
- Media can start at a timecode other than zero (``Start TC``); ``GetSourceStartTime/EndTime`` count from it
  (api §5 "Mixed frame rates": "timecode-absolute").
- Clip gain and fades exist on every audio item but are readable and settable only from 21.1 (Scripting API
  Changelog 21.1: "native audio properties", "Get/Set Fades"; api §5 "Fairlight": no API before). A deleted and
  re-appended item comes back without them.
- ``retime`` is the Edit page's Change Clip Speed (no API before 21.1, api §5 "Speed"): the source span is
  the record span times the speed.
- Nested timelines and compound clips: a timeline's pool item can be appended, and ``CreateCompoundClip``
  replaces items by one whose pool item is of type "Compound" (README, Timeline).
- ``Timeline.GetSelectedClips`` (21.0.4, Changelog) reads what ``select`` (a click in the UI) chose;
  ``GetMarkInOut`` (19.1, README) reads in and out marks, as offsets from the timeline start.
- The project's cache folder is the setting ``perfCacheClipsLocation`` (public project notes, code-index file id
  70989975468).

Media is real: ``ImportMedia`` probes the files with :func:`core.probe.probe`. Unique ids come from a
counter, so two fakes built the same way are identical; :meth:`FakeResolve.snapshot` captures the whole
project for "original untouched" and "revert restores exactly" assertions.
"""

from __future__ import annotations

import copy
import json
import os
from fractions import Fraction
from typing import Any, ClassVar

from core.errors import MediaError
from core.probe import probe
from plugin.resolve_api import parse_version

Version = tuple[int, int, int]

PAGES = ("media", "cut", "edit", "fusion", "color", "fairlight", "deliver")
# The 16 clip colours; marker colours are a different set ("Cyan" is refused as a clip colour, api §6c).
CLIP_COLORS = ("Orange", "Apricot", "Yellow", "Lime", "Olive", "Green", "Teal", "Navy", "Blue", "Purple",
               "Violet", "Pink", "Tan", "Beige", "Brown", "Chocolate")
MARKER_COLORS = ("Blue", "Cyan", "Green", "Yellow", "Red", "Pink", "Purple", "Fuchsia", "Rose", "Lavender",
                 "Sky", "Mint", "Lemon", "Sand", "Cocoa", "Cream")
# Timeline item property keys the README documents (video only), api §1 "TimelineItem".
VIDEO_PROPERTIES = ("Pan", "Tilt", "ZoomX", "ZoomY", "ZoomGang", "RotationAngle", "AnchorPointX", "AnchorPointY",
                    "Pitch", "Yaw", "FlipX", "FlipY", "CropLeft", "CropRight", "CropTop", "CropBottom",
                    "CropSoftness", "CropRetain", "DynamicZoomEase", "CompositeMode", "Opacity", "Distortion",
                    "RetimeProcess", "MotionEstimation", "Scaling", "ResizeFilter")
# Native audio properties readable from 21.1 (Changelog 21.1); the key names are not published, so the plugin
# copies whatever GetProperty() reports rather than naming them.
AUDIO_PROPERTIES = ("Volume", "Pan", "FadeIn", "FadeOut")
SPEED_VERSION: Version = (21, 1, 0)
# Audio track types by channel count, as the Clip Attributes dialog names them (README "Audio Mapping").
TRACK_TYPES = {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}
FRAME_RATES = {"23.976": Fraction(24000, 1001), "24": Fraction(24), "25": Fraction(25),
               "29.97": Fraction(30000, 1001), "30": Fraction(30), "47.952": Fraction(48000, 1001),
               "48": Fraction(48), "50": Fraction(50), "59.94": Fraction(60000, 1001), "60": Fraction(60)}
STILL_SECONDS = 5  # Resolve's default "Standard still duration"
OFFLINE_VOLUME = os.path.join(os.sep, "lipalign-unmounted-volume")


def _read_metadata(store: dict[str, str], key: str) -> Any:
    """Get(ThirdParty)Metadata: every entry with no key, else the one value ("" when absent)."""
    return dict(store) if not key else store.get(key, "")


def _write_metadata(store: dict[str, str], key: Any, value: str) -> bool:
    """Set(ThirdParty)Metadata: one key and value, or a dict of them; everything is kept as text."""
    store.update({str(k): str(v) for k, v in key.items()} if isinstance(key, dict) else {str(key): str(value)})
    return True


def timecode_to_frames(tc: str, rate: Fraction, drop: bool) -> int:
    """Frames from 00:00:00:00 for ``tc`` at ``rate``; drop frame skips 2 (or 4 at 59.94) labels a minute."""
    h, m, s, f = (int(p) for p in tc.replace(";", ":").split(":"))
    nominal = round(rate)
    frames = ((h * 60 + m) * 60 + s) * nominal + f
    if drop:
        dropped = 2 * nominal // 30
        minutes = h * 60 + m
        frames -= dropped * (minutes - minutes // 10)
    return frames


def frames_to_timecode(frames: int, rate: Fraction) -> str:
    nominal = round(rate)
    s, f = divmod(frames, nominal)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{h:02d}:{m:02d}:{s:02d}:{f:02d}"


def _is_frame(value: Any) -> bool:
    # Resolve 21 rejects the whole batch if any frame is fractional (auto-subs #745); the README types them int.
    return isinstance(value, int) and not isinstance(value, bool)


class _Api:
    """Base of every fake API object: version gating and the live object's attribute behaviour."""

    _SINCE: ClassVar[dict[str, Version]] = {}

    def __init__(self, app: FakeResolve) -> None:
        self._app = app

    def __getattribute__(self, name: str) -> Any:
        if name[:1].isupper():
            since = type(self)._SINCE.get(name)
            if since is not None and object.__getattribute__(self, "_app")._version < since:
                return None
        return object.__getattribute__(self, name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return None  # a live Resolve object answers every attribute name (api §5 "Capability probing")

    def __dir__(self) -> list[str]:
        version = self._app._version
        return sorted(n for n in dir(type(self)) if n[:1].isupper() and self._SINCE.get(n, (0, 0, 0)) <= version)


class _Markers:
    """Markers with custom data, shared by timelines, timeline items and pool items (api §1 "Markers")."""

    _markers: dict[float, dict[str, Any]]

    def AddMarker(self, frameId: float, color: str, name: str, note: str, duration: float,
                  customData: str = "") -> bool:
        if isinstance(frameId, bool) or not isinstance(frameId, (int, float)) or frameId < 0:
            return False
        if color not in MARKER_COLORS or duration < 1 or float(frameId) in self._markers:
            return False
        self._markers[float(frameId)] = {"color": color, "duration": int(duration), "note": note, "name": name,
                                         "customData": customData or ""}
        return True

    def GetMarkers(self) -> dict[float, dict[str, Any]]:
        return {k: dict(v) for k, v in sorted(self._markers.items())}

    def GetMarkerByCustomData(self, customData: str) -> dict[float, dict[str, Any]]:
        for frame, marker in sorted(self._markers.items()):
            if marker["customData"] == customData:
                return {frame: dict(marker)}
        return {}

    def GetMarkerCustomData(self, frameId: float) -> str:
        marker = self._markers.get(float(frameId))
        return marker["customData"] if marker else ""

    def UpdateMarkerCustomData(self, frameId: float, customData: str) -> bool:
        marker = self._markers.get(float(frameId))
        if marker is None:
            return False
        marker["customData"] = customData
        return True

    def DeleteMarkerAtFrame(self, frameNum: float) -> bool:
        return self._markers.pop(float(frameNum), None) is not None

    def DeleteMarkerByCustomData(self, customData: str) -> bool:
        found = [k for k, v in self._markers.items() if v["customData"] == customData]
        for k in found:
            del self._markers[k]
        return bool(found)

    def DeleteMarkersByColor(self, color: str) -> bool:
        found = [k for k, v in self._markers.items() if color == "All" or v["color"] == color]
        for k in found:
            del self._markers[k]
        return bool(found)


class _Colored:
    _color: str

    def SetClipColor(self, colorName: str) -> bool:
        if colorName not in CLIP_COLORS:
            return False
        self._color = colorName
        return True

    def GetClipColor(self) -> str:
        return self._color

    def ClearClipColor(self) -> bool:
        self._color = ""
        return True


class FakeResolve(_Api):
    """The ``resolve`` object. ``version`` like "19.0.2" (or "19.0.2.7" with a build), ``studio`` for the edition."""

    def __init__(self, version: str = "19.0.2", *, studio: bool = True, page: str = "media",
                 project_name: str = "LipAlign test project", frame_rate: str = "25") -> None:
        self._app = self
        self._version = parse_version(version)
        parts = version.split(".")
        self._build = int(parts[3]) if len(parts) > 3 else 0
        self._studio = studio
        self._page = page
        self._counter = 0
        self._pm = FakeProjectManager(self, project_name, frame_rate)
        self.refuse_appends = 0  # harness: the next N AppendToTimeline calls place nothing

    def _new_id(self) -> str:
        self._counter += 1
        return f"{self._counter:08x}-1a1a-4000-8000-00000000f4ce"

    def GetVersion(self) -> list:
        return [*self._version, self._build, ""]

    def GetVersionString(self) -> str:
        return ".".join(str(p) for p in (*self._version, self._build))

    def GetProductName(self) -> str:
        return "DaVinci Resolve Studio" if self._studio else "DaVinci Resolve"

    def GetProjectManager(self) -> FakeProjectManager:
        return self._pm

    def OpenPage(self, pageName: str) -> bool:
        pages = PAGES + (("photo",) if self._version >= (21, 0, 0) else ())
        if pageName not in pages:
            return False
        self._page = pageName
        return True

    def GetCurrentPage(self) -> str:
        return self._page

    # Harness (not API): lower-case names never appear in dir() and are not whitelisted for the bridge.
    def scriptapp(self, name: str) -> FakeResolve | None:
        """What ``DaVinciResolveScript.scriptapp`` returns to an external process: nothing on free (api §2)."""
        return self if name == "Resolve" and self._studio else None

    def snapshot(self, ids: bool = True) -> dict[str, Any]:
        """The whole project as plain data; ``ids=False`` replaces unique ids by positions (for revert checks)."""
        project = self._pm._project
        return {
            "page": self._page,
            "current_timeline": project._current.GetName() if project._current else None,
            "timelines": [t.snapshot(ids) for t in project._timelines],
            "media_pool": project._pool._root.snapshot(ids),
        }


class FakeProjectManager(_Api):
    def __init__(self, app: FakeResolve, name: str, frame_rate: str) -> None:
        super().__init__(app)
        self._project = FakeProject(app, name, frame_rate)

    def GetCurrentProject(self) -> FakeProject:
        return self._project

    def SaveProject(self) -> bool:
        # An untitled project cannot be saved from the API (api §5 "Other": False in the GUI, hangs headless).
        return self._project._name != "Untitled Project"


class FakeProject(_Api):
    _SINCE: ClassVar[dict[str, Version]] = {"GetUniqueId": (18, 0, 0)}

    def __init__(self, app: FakeResolve, name: str, frame_rate: str) -> None:
        super().__init__(app)
        self._name = name
        self._uid = app._new_id()
        rate, drop = _parse_rate(frame_rate)
        if rate is None:
            raise ValueError(f"unknown Resolve frame rate {frame_rate!r}")
        label = frame_rate.replace(" DF", "")
        self._settings = {"timelineFrameRate": label, "timelineDropFrameTimecode": "1" if drop else "0",
                          "timelinePlaybackFrameRate": label, "audioSampleRate": "48000",
                          "perfCacheClipsLocation": ""}
        self._timelines: list[FakeTimeline] = []
        self._current: FakeTimeline | None = None
        self._pool = FakeMediaPool(app, self)

    def GetName(self) -> str:
        return self._name

    def GetUniqueId(self) -> str:
        return self._uid

    def GetMediaPool(self) -> FakeMediaPool:
        return self._pool

    def GetTimelineCount(self) -> int:
        return len(self._timelines)

    def GetTimelineByIndex(self, idx: int) -> FakeTimeline | None:
        return self._timelines[idx - 1] if _is_frame(idx) and 1 <= idx <= len(self._timelines) else None

    def GetCurrentTimeline(self) -> FakeTimeline | None:
        return self._current

    def SetCurrentTimeline(self, timeline: FakeTimeline) -> bool:
        if timeline not in self._timelines:
            return False
        self._current = timeline
        return True

    def GetSetting(self, settingName: str = "") -> Any:
        return dict(self._settings) if not settingName else self._settings.get(settingName, "")

    def SetSetting(self, settingName: str, settingValue: str) -> bool:
        if settingName == "timelinePlaybackFrameRate":
            return False  # measured: always fails from the API (api §1 "Settings and timecode")
        if settingName == "timelineFrameRate":
            rate, drop = _parse_rate(settingValue)
            if rate is None or self._timelines:
                return False  # the project rate is frozen once a timeline exists [inferred from the UI]
            self._settings["timelineFrameRate"] = settingValue.replace(" DF", "")
            self._settings["timelineDropFrameTimecode"] = "1" if drop else "0"
            return True
        self._settings[settingName] = str(settingValue)
        return True

    def _rate(self) -> tuple[Fraction, bool]:
        rate, _ = _parse_rate(self._settings["timelineFrameRate"])
        assert rate is not None
        return rate, self._settings["timelineDropFrameTimecode"] == "1"

    def _timeline_named(self, name: str) -> FakeTimeline | None:
        return next((t for t in self._timelines if t._name == name), None)


def _parse_rate(text: str) -> tuple[Fraction | None, bool]:
    """Resolve writes drop frame by appending " DF" to the rate (api §1 "Settings and timecode")."""
    text = str(text).strip()
    drop = text.endswith("DF")
    rate = FRAME_RATES.get(text[:-2].strip() if drop else text)
    if drop and rate not in (Fraction(30000, 1001), Fraction(60000, 1001)):
        return None, False
    return rate, drop


class FakeFolder(_Api):
    _SINCE: ClassVar[dict[str, Version]] = {"GetUniqueId": (18, 0, 0)}

    def __init__(self, app: FakeResolve, name: str) -> None:
        super().__init__(app)
        self._name = name
        self._uid = app._new_id()
        self._clips: list[FakeMediaPoolItem] = []
        self._subfolders: list[FakeFolder] = []

    def GetName(self) -> str:
        return self._name

    def GetUniqueId(self) -> str:
        return self._uid

    def GetClipList(self) -> list[FakeMediaPoolItem]:
        return list(self._clips)

    def GetSubFolderList(self) -> list[FakeFolder]:
        return list(self._subfolders)

    def snapshot(self, ids: bool) -> dict[str, Any]:
        return {"name": self._name, "clips": [c.snapshot(ids) for c in self._clips],
                "folders": [f.snapshot(ids) for f in self._subfolders]}

    def _all_clips(self) -> list[FakeMediaPoolItem]:
        return self._clips + [c for f in self._subfolders for c in f._all_clips()]


class FakeMediaPool(_Api):
    _SINCE: ClassVar[dict[str, Version]] = {"GetUniqueId": (18, 0, 0), "GetSelectedClips": (19, 0, 2),
                                            "SetSelectedClip": (19, 0, 2)}

    def __init__(self, app: FakeResolve, project: FakeProject) -> None:
        super().__init__(app)
        self._project = project
        self._uid = app._new_id()
        self._root = FakeFolder(app, "Master")
        self._current_folder = self._root
        self._selected: list[FakeMediaPoolItem] = []

    def GetUniqueId(self) -> str:
        return self._uid

    def GetRootFolder(self) -> FakeFolder:
        return self._root

    def GetCurrentFolder(self) -> FakeFolder:
        return self._current_folder

    def SetCurrentFolder(self, folder: FakeFolder) -> bool:
        if not isinstance(folder, FakeFolder):
            return False
        self._current_folder = folder
        return True

    def AddSubFolder(self, folder: FakeFolder, name: str) -> FakeFolder | None:
        if not isinstance(folder, FakeFolder) or not name:
            return None
        sub = FakeFolder(self._app, name)
        folder._subfolders.append(sub)
        return sub

    def GetSelectedClips(self) -> list[FakeMediaPoolItem]:
        return list(self._selected)

    def SetSelectedClip(self, mediaPoolItem: FakeMediaPoolItem) -> bool:
        self._selected = [mediaPoolItem]
        return True

    def ImportMedia(self, items: list) -> list[FakeMediaPoolItem]:
        """Probe and add each file; a missing or unreadable file is skipped, as Resolve skips it."""
        imported = []
        for entry in items:
            path = entry.get("FilePath") if isinstance(entry, dict) else entry
            try:
                info = probe(str(path))
            except MediaError:
                continue
            item = FakeMediaPoolItem(self._app, os.path.abspath(str(path)), info, self._project._rate()[0])
            self._current_folder._clips.append(item)
            imported.append(item)
        return imported

    def DeleteClips(self, clips: list[FakeMediaPoolItem]) -> bool:
        removed = False
        for folder in _walk(self._root):
            for clip in clips:
                if clip in folder._clips:
                    folder._clips.remove(clip)
                    removed = True
        return removed

    def CreateEmptyTimeline(self, name: str) -> FakeTimeline | None:
        project = self._project
        if not name or project._timeline_named(name):
            return None
        rate, drop = project._rate()
        timeline = FakeTimeline(self._app, project, name, rate, drop)
        project._timelines.append(timeline)
        project._current = timeline
        self._current_folder._clips.append(timeline._pool_item)
        return timeline

    def DeleteTimelines(self, timeline: list[FakeTimeline]) -> bool:
        project = self._project
        for t in timeline:
            if t not in project._timelines:
                return False
        for t in timeline:
            project._timelines.remove(t)
            for folder in _walk(self._root):
                if t._pool_item in folder._clips:
                    folder._clips.remove(t._pool_item)
        if project._current not in project._timelines:
            project._current = project._timelines[0] if project._timelines else None
        return True

    def AppendToTimeline(self, *args: Any) -> list[FakeTimelineItem] | None:
        """The three documented forms; see the module docstring for the placement rules."""
        timeline = self._project._current
        if timeline is None or not args:
            return []
        first = args[0]
        entries = first if len(args) == 1 and isinstance(first, list) else list(args)
        if all(isinstance(e, FakeMediaPoolItem) for e in entries):
            return timeline._append_whole(entries)
        if not all(isinstance(e, dict) for e in entries):
            return None
        for info in entries:
            for key in ("startFrame", "endFrame", "recordFrame", "trackIndex", "mediaType"):
                if key in info and not _is_frame(info[key]):
                    return None  # one fractional frame rejects the whole batch (auto-subs #745, PR #772)
        if (20, 3, 0) <= self._app._version < (20, 3, 2) and not self._selected:
            # Changelog 20.3.2: "AppendToTimeline failure when no media pool clip is selected".
            return []
        if self._app.refuse_appends:
            self._app.refuse_appends -= 1
            return [FakeThinItem() for _ in entries]
        return timeline._append_infos(entries)


def _walk(folder: FakeFolder) -> list[FakeFolder]:
    return [folder] + [f for sub in folder._subfolders for f in _walk(sub)]


class FakeMediaPoolItem(_Api, _Markers, _Colored):
    _SINCE: ClassVar[dict[str, Version]] = {"GetUniqueId": (18, 0, 0), "GetThirdPartyMetadata": (19, 0, 2),
                                            "SetThirdPartyMetadata": (19, 0, 2), "GetAudioMapping": (19, 0, 0),
                                            "GetMarkInOut": (19, 1, 0)}

    def __init__(self, app: FakeResolve, path: str, info: Any, project_rate: Fraction,
                 timeline_name: str | None = None) -> None:
        super().__init__(app)
        self._uid = app._new_id()
        self._media_id = app._new_id()
        self._path = path
        self._markers = {}
        self._color = ""
        self._metadata: dict[str, str] = {}
        self._third_party: dict[str, str] = {}
        self._info = info
        self._start_tc = "00:00:00:00"
        self._linked_audio: list[dict[str, Any]] = []
        self._audio_tracks: list[dict[str, Any]] = []
        self._timeline: FakeTimeline | None = None
        if timeline_name is not None:
            self._name = timeline_name
            self._kind, self._fps, self._frames = "Timeline", project_rate, 0
            return
        self._name = os.path.basename(path)
        still = info.has_video and not info.has_audio and info.frame_count <= 1
        if still:
            self._kind, self._fps = "Still", project_rate
            self._frames = STILL_SECONDS * round(project_rate)
        elif info.has_video:
            self._kind = "Video + Audio" if info.has_audio else "Video"
            self._fps = Fraction(info.fps_declared).limit_denominator(1001)
            self._frames = info.frame_count
        else:
            # A WAV's FPS is the project frame rate at import time, frozen (api §5 "Mixed frame rates").
            self._kind, self._fps = "Audio", project_rate
            self._frames = int(Fraction(info.duration_s).limit_denominator(1_000_000) * project_rate)
        if self._has_audio:
            channels = int(info.channels or 1)
            self._audio_tracks = [{"channel_idx": list(range(1, channels + 1)), "mute": False,
                                   "type": TRACK_TYPES.get(channels, f"adaptive{channels}")}]

    @property
    def _has_video(self) -> bool:
        return self._kind in ("Video + Audio", "Video", "Still", "Timeline", "Compound")

    @property
    def _has_audio(self) -> bool:
        return self._kind in ("Video + Audio", "Audio", "Timeline", "Compound")

    @property
    def _embedded_channels(self) -> int:
        return int(self._info.channels or 0) if self._info is not None and self._info.has_audio else 0

    # Harness (not API): what the editor does in the UI, which the scripting API cannot do.
    def set_audio_tracks(self, tracks: list[tuple[str, list[int]]]) -> None:
        """Clip Attributes > Audio: the clip's audio tracks as (type, source channels), e.g. dual mono
        ``[("mono", [1]), ("mono", [2])]``; linked channels count on from the embedded ones (README "Audio Mapping")."""
        self._audio_tracks = [{"channel_idx": list(chans), "mute": False, "type": kind} for kind, chans in tracks]

    def link_audio(self, wav: FakeMediaPoolItem, offset_samples: int, keep_embedded: bool = False) -> None:
        """What Auto Sync Audio leaves on a camera clip: ``wav``'s channels linked with an offset in samples
        (api §1: "-100 means media offset 0 plays file_start + 100 samples"), heard instead of the embedded
        sound unless ``keep_embedded`` (AUDIO_SYNC_RETAIN_EMBEDDED_AUDIO, api §1 AutoSyncAudio)."""
        first = self._embedded_channels + sum(a["channels"] for a in self._linked_audio) + 1
        channels = int(wav._info.channels or 1)
        self._linked_audio.append({"channels": channels, "path": wav._path, "offset": int(offset_samples)})
        track = {"channel_idx": list(range(first, first + channels)), "mute": False,
                 "type": TRACK_TYPES.get(channels, f"adaptive{channels}")}
        self._audio_tracks = [*self._audio_tracks, track] if keep_embedded else [track]

    def set_start_timecode(self, timecode: str) -> None:
        """The media's own start timecode (a recorder's time of day), which Resolve reads from the file."""
        self._start_tc = timecode

    def take_offline(self) -> None:
        """Harness: the media's volume is gone (an unplugged drive); the pool still names the old path."""
        self._path = os.path.join(OFFLINE_VOLUME, os.path.basename(self._path))

    def GetName(self) -> str:
        return self._name

    def GetUniqueId(self) -> str:
        return self._uid

    def GetMediaId(self) -> str:
        return self._media_id

    def GetAudioMapping(self) -> str:
        """The README's "Audio Mapping" JSON: embedded channels, linked files (with their sample offset, api §1)
        and the clip's audio tracks."""
        return json.dumps(self._mapping(self._audio_tracks))

    def _mapping(self, tracks: list[dict[str, Any]]) -> dict[str, Any]:
        return {"embedded_audio_channels": self._embedded_channels,
                "linked_audio": {str(n): dict(a) for n, a in enumerate(self._linked_audio, 1)},
                "track_mapping": {str(n): dict(t) for n, t in enumerate(tracks, 1)}}

    def GetMarkInOut(self) -> dict[str, Any]:
        return {}

    def GetClipProperty(self, propertyName: str = "") -> Any:
        props = self._properties()
        return props if not propertyName else props.get(propertyName, "")

    def SetClipProperty(self, propertyName: str, propertyValue: Any) -> bool:
        # Intrinsic properties such as sample rate are read-only (api §1 "GetClipProperty keys").
        return False

    def GetMetadata(self, metadataType: str = "") -> Any:
        return _read_metadata(self._metadata, metadataType)

    def SetMetadata(self, metadataType: Any, metadataValue: str = "") -> bool:
        return _write_metadata(self._metadata, metadataType, metadataValue)

    def GetThirdPartyMetadata(self, metadataType: str = "") -> Any:
        return _read_metadata(self._third_party, metadataType)

    def SetThirdPartyMetadata(self, metadataType: Any, metadataValue: str = "") -> bool:
        return _write_metadata(self._third_party, metadataType, metadataValue)

    def _properties(self) -> dict[str, Any]:
        info = self._info
        fps = float(round(self._fps, 3))
        props: dict[str, Any] = {"Clip Name": self._name, "Type": self._kind, "FPS": fps,
                                 "File Name": os.path.basename(self._path) if self._path else "",
                                 "File Path": self._path, "Frames": str(self._frames), "Start": "0",
                                 "End": str(max(self._frames - 1, 0)), "Start TC": self._start_tc,
                                 "End TC": frames_to_timecode(self._frames, self._fps),
                                 "Duration": frames_to_timecode(self._frames, self._fps), "Drop frame": "0",
                                 "Audio Offset": "", "Usage": "0",
                                 "Synced Audio": ", ".join(os.path.basename(a["path"]) for a in self._linked_audio)}
        if info is not None:
            props["Format"] = info.container
            if self._has_video:
                props.update({"Resolution": f"{info.width}x{info.height}", "Video Codec": info.video_codec or ""})
            if self._has_audio:
                props.update({"Sample Rate": str(info.sample_rate), "Audio Ch": str(info.channels),
                              "Audio Codec": info.audio_codec or "", "Audio Bit Depth": str(info.bit_depth or "")})
        return props

    def snapshot(self, ids: bool) -> dict[str, Any]:
        data = {"name": self._name, "type": self._kind, "path": self._path, "color": self._color,
                "markers": self.GetMarkers(), "metadata": dict(self._metadata),
                "third_party": dict(self._third_party), "audio": self._mapping(self._audio_tracks)}
        if ids:
            data["id"] = self._uid
        return data


class FakeTimeline(_Api, _Markers):
    _SINCE: ClassVar[dict[str, Version]] = {
        "GetUniqueId": (18, 0, 0), "GetStartTimecode": (18, 0, 0), "SetStartTimecode": (18, 0, 0),
        "AddTrack": (18, 5, 0), "DeleteTrack": (18, 5, 0), "DeleteClips": (18, 5, 0), "SetClipsLinked": (18, 5, 0),
        "SetTrackEnable": (18, 5, 0), "GetIsTrackEnabled": (18, 5, 0), "SetTrackLock": (18, 5, 0),
        "GetIsTrackLocked": (18, 5, 0), "GetTrackSubType": (19, 0, 1), "GetMediaPoolItem": (19, 1, 0),
        "GetMarkInOut": (19, 1, 0), "SetMarkInOut": (19, 1, 0), "ClearMarkInOut": (19, 1, 0),
        "GetSelectedClips": (21, 0, 4),
    }

    def __init__(self, app: FakeResolve, project: FakeProject, name: str, rate: Fraction, drop: bool) -> None:
        super().__init__(app)
        self._project = project
        self._name = name
        self._uid = app._new_id()
        self._rate, self._drop = rate, drop
        self._start = timecode_to_frames("01:00:00:00", rate, drop)
        self._markers = {}
        self._playhead = self._start
        # Every track: type, sub type, name, enabled, locked, items sorted by start.
        self._tracks: dict[str, list[dict[str, Any]]] = {"video": [], "audio": [], "subtitle": []}
        self._add_track("video", "")
        self._add_track("audio", "stereo")
        self._links: dict[int, set[FakeTimelineItem]] = {}
        self._next_link = 1
        self._pool_item = FakeMediaPoolItem(app, "", None, rate, timeline_name=name)
        self._pool_item._timeline = self
        self._pool_item._audio_tracks = [{"channel_idx": [1, 2], "mute": False, "type": "stereo"}]
        self._selected: list[FakeTimelineItem] = []
        self._in_out: dict[str, dict[str, int]] = {}
        self.fail_next_delete_clips = False  # harness: "the first attempt is occasionally flaky" (api §5)

    # -- basics -------------------------------------------------------------------------------------------
    def GetName(self) -> str:
        return self._name

    def SetName(self, timelineName: str) -> bool:
        if not timelineName or self._project._timeline_named(timelineName):
            return False
        self._name = timelineName
        self._pool_item._name = timelineName
        return True

    def GetUniqueId(self) -> str:
        return self._uid

    def GetMediaPoolItem(self) -> FakeMediaPoolItem:
        return self._pool_item

    def GetStartFrame(self) -> int:
        return self._start

    def GetEndFrame(self) -> int:
        ends = [i._start + i._duration for t in self._tracks.values() for tr in t for i in tr["items"]]
        return max([self._start, *ends])

    def GetStartTimecode(self) -> str:
        return _timecode_label(self._start, self._rate, self._drop)

    def SetStartTimecode(self, timecode: str) -> bool:
        try:
            start = timecode_to_frames(timecode, self._rate, self._drop)
        except ValueError:
            return False
        shift = start - self._start
        for item in self._all_items():
            item._start += shift
        self._start, self._playhead = start, self._playhead + shift
        return True

    def GetSetting(self, settingName: str = "") -> Any:
        # The rate reads back with " DF" when drop frame is on, as it is written (api §1 "Settings and timecode").
        label = next(k for k, v in FRAME_RATES.items() if v == self._rate)
        settings = {"timelineFrameRate": label + (" DF" if self._drop else ""),
                    "timelineDropFrameTimecode": "1" if self._drop else "0",
                    "timelinePlaybackFrameRate": label}
        return settings if not settingName else settings.get(settingName, self._project.GetSetting(settingName))

    def SetSetting(self, settingName: str, settingValue: str) -> bool:
        if settingName != "timelineFrameRate" or self._all_items():
            return False  # a timeline's rate cannot change once it holds clips [inferred from the UI]
        rate, drop = _parse_rate(settingValue)
        if rate is None:
            return False
        self._rate, self._drop = rate, drop
        self._start = timecode_to_frames("01:00:00:00", rate, drop)
        return True

    def GetCurrentTimecode(self) -> str:
        return _timecode_label(self._playhead, self._rate, self._drop)

    def SetCurrentTimecode(self, timecode: str) -> bool:
        self._playhead = timecode_to_frames(timecode, self._rate, self._drop)
        return True

    def GetCurrentVideoItem(self) -> FakeTimelineItem | None:
        for track in reversed(self._tracks["video"]):
            for item in track["items"]:
                if item._start <= self._playhead < item._start + item._duration:
                    return item
        return None

    # -- tracks -------------------------------------------------------------------------------------------
    def _add_track(self, track_type: str, sub_type: str, index: int | None = None) -> None:
        tracks = self._tracks[track_type]
        track = {"sub_type": sub_type, "name": f"{track_type[0].upper()}{len(tracks) + 1}", "enabled": True,
                 "locked": False, "items": []}
        tracks.insert(len(tracks) if index is None else index - 1, track)

    def _track(self, track_type: str, index: Any) -> dict[str, Any] | None:
        tracks = self._tracks.get(track_type)
        if tracks is None or not _is_frame(index) or not 1 <= index <= len(tracks):
            return None  # indices are 1-based (api §1 "Tracks")
        return tracks[index - 1]

    def GetTrackCount(self, trackType: str) -> int:
        return len(self._tracks.get(trackType, []))

    def AddTrack(self, trackType: str, subTrackType: Any = None) -> bool:
        if trackType not in self._tracks:
            return False
        index = None
        if isinstance(subTrackType, dict):
            if self._app._version < (19, 0, 0):
                return False  # the options form is 19.0+ (api §1 "Tracks")
            index = subTrackType.get("index")
            subTrackType = subTrackType.get("audioType")
            if index is not None and not (_is_frame(index) and 1 <= index <= len(self._tracks[trackType]) + 1):
                return False
        if trackType == "audio":
            if subTrackType is None:
                if self._app._version < (19, 0, 0):
                    return False  # 18.5 requires the audio sub type; 19.0 defaults to mono
                subTrackType = "mono"
            if subTrackType not in ("mono", "stereo", "5.1", "5.1film", "7.1", "7.1film") and not str(
                    subTrackType).startswith("adaptive"):
                return False
        self._add_track(trackType, subTrackType if trackType == "audio" else "", index)
        return True

    def DeleteTrack(self, trackType: str, trackIndex: int) -> bool:
        track = self._track(trackType, trackIndex)
        if track is None or track["locked"]:
            return False
        for item in list(track["items"]):
            self._remove(item)
        self._tracks[trackType].remove(track)
        return True

    def GetTrackSubType(self, trackType: str, trackIndex: int) -> str:
        track = self._track(trackType, trackIndex)
        return track["sub_type"] if track else ""

    def GetTrackName(self, trackType: str, trackIndex: int) -> str:
        track = self._track(trackType, trackIndex)
        return track["name"] if track else ""

    def SetTrackName(self, trackType: str, trackIndex: int, name: str) -> bool:
        track = self._track(trackType, trackIndex)
        if track is None:
            return False
        track["name"] = name
        return True

    def SetTrackEnable(self, trackType: str, trackIndex: int, Bool: bool) -> bool:
        track = self._track(trackType, trackIndex)
        if track is None:
            return False
        track["enabled"] = bool(Bool)
        return True

    def GetIsTrackEnabled(self, trackType: str, trackIndex: int) -> bool:
        track = self._track(trackType, trackIndex)
        return bool(track and track["enabled"])

    def SetTrackLock(self, trackType: str, trackIndex: int, Bool: bool) -> bool:
        track = self._track(trackType, trackIndex)
        if track is None:
            return False
        track["locked"] = bool(Bool)
        return True

    def GetIsTrackLocked(self, trackType: str, trackIndex: int) -> bool:
        track = self._track(trackType, trackIndex)
        return bool(track and track["locked"])

    def GetItemListInTrack(self, trackType: str, index: int) -> list[FakeTimelineItem] | None:
        track = self._track(trackType, index)
        return None if track is None else sorted(track["items"], key=lambda i: i._start)

    # -- editing ------------------------------------------------------------------------------------------
    def DeleteClips(self, timelineItems: list[FakeTimelineItem], Bool: bool = False) -> bool:
        if self._app._page != "edit":
            return False  # measured: False and nothing deleted off the Edit page (api §5)
        if self.fail_next_delete_clips:
            self.fail_next_delete_clips = False
            return False
        items = [i for i in timelineItems if isinstance(i, FakeTimelineItem) and i._timeline is self and i._alive]
        if len(items) != len(timelineItems) or any(i._track_dict()["locked"] for i in items):
            return False
        for item in items:
            track = item._track_dict()
            self._remove(item)
            if Bool:  # ripple: later items on the same track close the gap
                for later in track["items"]:
                    if later._start >= item._start:
                        later._start -= item._duration
        return True

    def SetClipsLinked(self, timelineItems: list[FakeTimelineItem], Bool: bool) -> bool:
        items = [i for i in timelineItems if isinstance(i, FakeTimelineItem) and i._alive and i._timeline is self]
        if len(items) != len(timelineItems) or not items:
            return False
        for item in items:
            self._unlink(item)
        if Bool and len(items) > 1:
            self._links[self._next_link] = set(items)
            for item in items:
                item._link = self._next_link
            self._next_link += 1
        return True

    def _unlink(self, item: FakeTimelineItem) -> None:
        group = self._links.get(item._link) if item._link else None
        if group is not None:
            group.discard(item)
            if len(group) < 2:
                for other in group:
                    other._link = None
                del self._links[item._link]
        item._link = None

    def _remove(self, item: FakeTimelineItem) -> None:
        self._unlink(item)
        item._track_dict()["items"].remove(item)
        item._alive = False

    def _all_items(self) -> list[FakeTimelineItem]:
        return [i for tracks in self._tracks.values() for t in tracks for i in t["items"]]

    def _free(self, track: dict[str, Any], start: int, duration: int, pending: list[tuple]) -> bool:
        spans = [(i._start, i._start + i._duration) for i in track["items"]]
        spans += [(s, s + d) for t, s, d in pending if t is track]
        return all(start + duration <= a or start >= b for a, b in spans)

    def _append_whole(self, clips: list[FakeMediaPoolItem]) -> list[FakeTimelineItem]:
        for clip in clips:
            if clip._kind == "Timeline" and clip._timeline is not self:
                clip._frames = clip._timeline.GetEndFrame() - clip._timeline._start
        infos = [{"mediaPoolItem": c, "startFrame": 0, "endFrame": c._frames - (self._app._version < (19, 0, 0))}
                 for c in clips]
        return self._append_infos(infos)

    def _append_infos(self, infos: list[dict[str, Any]]) -> list[FakeTimelineItem | FakeThinItem]:
        placed: list[FakeTimelineItem | FakeThinItem] = []
        pending: list[tuple] = []
        version = self._app._version
        exclusive_end = version >= (19, 0, 0)  # inclusive on 18.x (nakano000 PR #23, api §5)
        positioned = version >= (18, 5, 0)  # trackIndex and recordFrame are 18.5+ (api §1)
        for info in infos:
            mpi = info.get("mediaPoolItem")
            if not isinstance(mpi, FakeMediaPoolItem) or mpi._timeline is self:
                continue
            if mpi._kind == "Timeline":  # a nested timeline is as long as what it holds now
                mpi._frames = mpi._timeline.GetEndFrame() - mpi._timeline._start
            src_start = info.get("startFrame", 0)
            src_end = info.get("endFrame", mpi._frames if exclusive_end else mpi._frames - 1)
            if not exclusive_end:
                src_end += 1
            if not 0 <= src_start < src_end <= mpi._frames:
                continue
            media_type = info.get("mediaType")
            kinds = {1: ["video"], 2: ["audio"]}.get(media_type, ["video", "audio"]) if media_type else [
                k for k, has in (("video", mpi._has_video), ("audio", mpi._has_audio)) if has]
            if ("video" in kinds and not mpi._has_video) or ("audio" in kinds and not mpi._has_audio):
                continue
            index = info.get("trackIndex", 1) if positioned else 1
            if (20, 0, 0) <= version < (20, 2, 2) and media_type == 2 and index > len(self._tracks["video"]):
                # Changelog 20.2.2: "AppendToTimeline validating trackIndex as video track indices in 'Audio Only'
                # mode" (the fix is dated, its start is not: assumed to be the 20.0 rework of appends, which 20.0.1
                # fixed "in some scenarios" too).
                continue
            # Start/end are source frames; Resolve floors the converted duration when rates differ (api §5).
            duration = int(Fraction(src_end - src_start) * self._rate / mpi._fps)
            # One item per audio track of the clip, on consecutive audio tracks (README "Audio Mapping": the
            # tracks are what the clip attributes show; the Edit page lays a two-track clip on A1 and A2).
            slots = [("video", 0)] if "video" in kinds else []
            slots += [("audio", n) for n in range(len(mpi._audio_tracks))] if "audio" in kinds else []
            tracks = [self._track(kind, index + n) for kind, n in slots]
            if duration < 1 or any(t is None or t["locked"] for t in tracks):
                continue  # locked tracks refuse appends (auto-subs autosubs_core.lua)
            if positioned and "recordFrame" in info:
                record = info["recordFrame"]  # absolute, not relative to the timeline start (api §5)
            else:
                record = max([self._start] + [i._start + i._duration for t in tracks for i in t["items"]]
                             + [s + d for t, s, d in pending if t in tracks])
            if not all(self._free(t, record, duration, pending) for t in tracks):
                # Overlaps: the earlier item wins and the later is dropped, but the call can still hand back a
                # "thin" item with no id whose getters answer None (api §5 "Overlaps"; AYON lib.py).
                placed.append(FakeThinItem())
                continue
            group = []
            for (kind, number), track in zip(slots, tracks, strict=True):
                item = FakeTimelineItem(self._app, self, mpi, kind, record, duration, src_start, src_end, number)
                track["items"].append(item)
                pending.append((track, record, duration))
                group.append(item)
            if len(group) > 1:
                self.SetClipsLinked(group, True)
            placed.extend(group)
        for track_list in self._tracks.values():
            for track in track_list:
                track["items"].sort(key=lambda i: i._start)
        return placed

    def CreateCompoundClip(self, timelineItems: list[FakeTimelineItem], clipInfo: dict | None = None) -> Any:
        """The items become one compound clip item whose pool item is of type "Compound" (README, Timeline)."""
        items = [i for i in timelineItems if isinstance(i, FakeTimelineItem) and i._alive and i._timeline is self]
        if not items or len(items) != len(timelineItems):
            return None
        start = min(i._start for i in items)
        end = max(i._start + i._duration for i in items)
        name = (clipInfo or {}).get("name") or "Compound Clip"
        compound = FakeMediaPoolItem(self._app, "", None, self._rate, timeline_name=name)
        compound._kind, compound._frames = "Compound", end - start
        compound._audio_tracks = [{"channel_idx": [1, 2], "mute": False, "type": "stereo"}]
        video_index = min(i._track_index() for i in items if i._kind == "video")
        audio_index = min((i._track_index() for i in items if i._kind == "audio"), default=None)
        for item in items:
            self._remove(item)
        group = [FakeTimelineItem(self._app, self, compound, "video", start, end - start, 0, end - start)]
        self._tracks["video"][video_index - 1]["items"].append(group[0])
        if audio_index is not None:
            group.append(FakeTimelineItem(self._app, self, compound, "audio", start, end - start, 0, end - start))
            self._tracks["audio"][audio_index - 1]["items"].append(group[1])
            self.SetClipsLinked(group, True)
        self._project._pool._current_folder._clips.append(compound)
        return group[0]

    # Harness (not API): a click on the timeline selects items; the API reads them from 21.0.4.
    def select(self, items: list[FakeTimelineItem]) -> None:
        self._selected = list(items)

    def GetSelectedClips(self) -> list[FakeTimelineItem]:
        return [i for i in self._selected if i._alive]

    def GetMarkInOut(self) -> dict[str, Any]:
        # Offsets from the timeline start, keys left out when not set (README 19.1 example {'video': {'in': 0,
        # 'out': 134}, ...}; public scripts add GetStartFrame() to them).
        return copy.deepcopy(self._in_out)

    def SetMarkInOut(self, markIn: int, markOut: int, type: str = "all") -> bool:
        if not (_is_frame(markIn) and _is_frame(markOut)) or markOut < markIn or type not in ("video", "audio", "all"):
            return False
        for kind in (("video", "audio") if type == "all" else (type,)):
            self._in_out[kind] = {"in": markIn, "out": markOut}
        return True

    def ClearMarkInOut(self, type: str = "all") -> bool:
        for kind in (("video", "audio") if type == "all" else (type,)):
            self._in_out.pop(kind, None)
        return True

    def DuplicateTimeline(self, timelineName: str = "") -> FakeTimeline | None:
        project = self._project
        name = timelineName or f"{self._name} copy"
        if project._timeline_named(name):
            return None
        dup = FakeTimeline(self._app, project, name, self._rate, self._drop)
        dup._start, dup._playhead, dup._markers = self._start, self._playhead, copy.deepcopy(self._markers)
        mapping: dict[FakeTimelineItem, FakeTimelineItem] = {}
        dup._tracks = {}
        for kind, tracks in self._tracks.items():
            dup._tracks[kind] = []
            for track in tracks:
                new_track = {k: v for k, v in track.items() if k != "items"}
                new_track["items"] = []
                for item in track["items"]:
                    clone = item._clone(dup)
                    mapping[item] = clone
                    new_track["items"].append(clone)
                dup._tracks[kind].append(new_track)
        for group in self._links.values():
            dup.SetClipsLinked([mapping[i] for i in sorted(group, key=_item_order)], True)
        project._timelines.append(dup)
        project._pool._current_folder._clips.append(dup._pool_item)
        return dup

    def snapshot(self, ids: bool = True) -> dict[str, Any]:
        """Tracks, items, markers and settings as plain data (positions instead of ids when ``ids`` is False)."""
        tracks = {}
        for kind, track_list in self._tracks.items():
            tracks[kind] = [{"sub_type": t["sub_type"], "name": t["name"], "enabled": t["enabled"],
                             "locked": t["locked"], "items": [i.snapshot(ids) for i in t["items"]]}
                            for t in track_list]
        data = {"name": self._name, "start_frame": self._start, "settings": self.GetSetting(),
                "markers": self.GetMarkers(), "tracks": tracks}
        if ids:
            data["id"] = self._uid
        return data


def _timecode_label(frames: int, rate: Fraction, drop: bool) -> str:
    if not drop:
        return frames_to_timecode(frames, rate)
    nominal = round(rate)
    dropped = 2 * nominal // 30
    per_10min = nominal * 600 - dropped * 9
    tens, rest = divmod(frames, per_10min)
    extra = dropped * 9 * tens + (dropped * ((rest - dropped) // (nominal * 60 - dropped)) if rest > dropped else 0)
    label = frames_to_timecode(frames + extra, rate)
    return label[:8] + ";" + label[9:]


def _item_order(item: FakeTimelineItem) -> tuple:
    return (item._kind, item._track_index(), item._start)


class FakeTimelineItem(_Api, _Markers, _Colored):
    _SINCE: ClassVar[dict[str, Version]] = {
        "GetUniqueId": (18, 0, 0), "SetClipEnabled": (18, 5, 0), "GetClipEnabled": (18, 5, 0),
        "GetLinkedItems": (19, 0, 0), "GetTrackTypeAndIndex": (19, 0, 0), "GetSourceStartFrame": (19, 0, 2),
        "GetSourceEndFrame": (19, 0, 2), "GetSourceStartTime": (19, 0, 2), "GetSourceEndTime": (19, 0, 2),
        "SetName": (20, 2, 0), "GetSourceAudioChannelMapping": (19, 0, 1),
    }

    def __init__(self, app: FakeResolve, timeline: FakeTimeline, mpi: FakeMediaPoolItem, kind: str, start: int,
                 duration: int, src_start: int, src_end: int, track_no: int = 0) -> None:
        super().__init__(app)
        self._uid = app._new_id()
        self._timeline, self._mpi, self._kind = timeline, mpi, kind
        self._start, self._duration = start, duration
        self._src_start, self._src_end = src_start, src_end
        self._name = mpi._name
        self._enabled = True
        self._color = ""
        self._markers = {}
        self._flags: list[str] = []
        self._properties: dict[str, Any] = {}
        self._speed = 100.0
        self._link: int | None = None
        self._alive = True
        self._track_no = track_no  # which of the clip's audio tracks an audio item plays
        # Clip gain and fades live on every audio item; the API reads them only from 21.1 (see SetProperty).
        self._audio: dict[str, float] = dict.fromkeys(AUDIO_PROPERTIES, 0.0) if kind == "audio" else {}

    def _clone(self, timeline: FakeTimeline) -> FakeTimelineItem:
        clone = FakeTimelineItem(self._app, timeline, self._mpi, self._kind, self._start, self._duration,
                                 self._src_start, self._src_end, self._track_no)
        clone._name, clone._enabled, clone._color = self._name, self._enabled, self._color
        clone._markers, clone._flags = copy.deepcopy(self._markers), list(self._flags)
        clone._properties, clone._speed, clone._audio = dict(self._properties), self._speed, dict(self._audio)
        return clone

    def _track_dict(self) -> dict[str, Any]:
        return next(t for t in self._timeline._tracks[self._kind] if self in t["items"])

    def _track_index(self) -> int:
        return next(n for n, t in enumerate(self._timeline._tracks[self._kind], 1) if self in t["items"])

    def _to_timeline(self, src_frames: int) -> int:
        return int(Fraction(src_frames) * self._timeline._rate / self._mpi._fps)

    def _subframe(self, args: tuple, value: int) -> int | float:
        # The subframe_precision argument is 19.0.2+; before that these take none (api §1 "TimelineItem").
        if args and self._app._version < (19, 0, 2):
            raise TypeError("takes no arguments before 19.0.2")
        return float(value) if args and args[0] else value

    def GetName(self) -> str:
        return self._name

    def SetName(self, name: str) -> bool:
        self._name = name
        return True

    def GetUniqueId(self) -> str:
        return self._uid

    def GetStart(self, *subframe_precision: bool) -> int | float:
        return self._subframe(subframe_precision, self._start)

    def GetEnd(self, *subframe_precision: bool) -> int | float:
        return self._subframe(subframe_precision, self._start + self._duration)  # exclusive, like endFrame

    def GetDuration(self, *subframe_precision: bool) -> int | float:
        return self._subframe(subframe_precision, self._duration)

    def GetLeftOffset(self, *subframe_precision: bool) -> int | float:
        # Counts timeline frames, also on audio items (api §5 "Mixed frame rates").
        return self._subframe(subframe_precision, self._to_timeline(self._src_start))

    def GetRightOffset(self, *subframe_precision: bool) -> int | float:
        return self._subframe(subframe_precision, self._to_timeline(self._mpi._frames - self._src_end))

    def GetSourceStartFrame(self) -> int:
        return self._src_start  # in the media's own frames

    def GetSourceEndFrame(self) -> int:
        # Exclusive at equal rates; flips to inclusive when media and timeline rates differ (api §5).
        return self._src_end - (self._mpi._fps != self._timeline._rate)

    def GetSourceStartTime(self) -> float:
        return float(self._tc_origin() + self._src_start / self._mpi._fps)

    def GetSourceEndTime(self) -> float:
        return float(self._tc_origin() + self._src_end / self._mpi._fps)

    def _tc_origin(self) -> Fraction:
        # Source times are timecode-absolute: they count from the media's start timecode (api §5 "Mixed frame
        # rates": "use the span between them").
        return Fraction(timecode_to_frames(self._mpi._start_tc, round(self._mpi._fps), False)) / round(self._mpi._fps)

    def GetSourceAudioChannelMapping(self) -> str:
        """This item's part of the clip's audio mapping: the one clip track it plays (README "Audio Mapping")."""
        tracks = self._mpi._audio_tracks[self._track_no:self._track_no + 1] if self._kind == "audio" else []
        return json.dumps(self._mpi._mapping(tracks))

    # Harness (not API): Edit page actions the scripting API cannot perform before 21.1.
    def retime(self, percent: float) -> None:
        """Change Clip Speed with the record range kept: the item plays ``percent`` / 100 source frames a frame."""
        span = Fraction(self._duration) * self._mpi._fps / self._timeline._rate
        self._speed = float(percent)
        self._src_end = min(self._mpi._frames, self._src_start + int(span * Fraction(percent) / 100))

    def set_audio(self, **values: float) -> None:
        """Clip gain (Volume, dB), pan and fades set on the Edit or Fairlight page."""
        self._audio.update({k: float(v) for k, v in values.items() if k in self._audio})

    def GetMediaPoolItem(self) -> FakeMediaPoolItem:
        return self._mpi

    def GetLinkedItems(self) -> list[FakeTimelineItem]:
        return self._linked()

    def _linked(self) -> list[FakeTimelineItem]:
        # Links exist from 18.5 (SetClipsLinked) although GetLinkedItems only reads them from 19.0.
        group = self._timeline._links.get(self._link, set()) if self._link else set()
        return sorted((i for i in group if i is not self), key=_item_order)

    def GetTrackTypeAndIndex(self) -> list:
        return [self._kind, self._track_index()]

    def SetClipEnabled(self, Bool: bool) -> bool:
        self._enabled = bool(Bool)
        return True

    def GetClipEnabled(self) -> bool:
        return self._enabled

    def AddFlag(self, color: str) -> bool:
        self._flags.append(color)
        return True

    def GetFlagList(self) -> list[str]:
        return list(self._flags)

    def SetProperty(self, propertyKey: str, propertyValue: Any) -> bool:
        modern = self._app._version >= SPEED_VERSION
        if propertyKey == "Speed":
            # No speed key before 21.1: SetProperty returns False (api §5 "Speed, retime and Fairlight").
            if not modern or isinstance(propertyValue, bool) or not isinstance(propertyValue, (int, float)):
                return False
            if propertyValue <= 0:
                return False
            self._speed = float(propertyValue)
            span = Fraction(self._duration) * self._mpi._fps / self._timeline._rate
            self._src_end = min(self._mpi._frames,
                                self._src_start + int(span * Fraction(propertyValue).limit_denominator(100000) / 100))
            return True
        if self._kind == "audio":
            # No audio property API before 21.1: SetProperty('Volume'|'Gain'...) returns False (api §5 "Fairlight").
            if not modern or propertyKey not in self._audio or not isinstance(propertyValue, (int, float)):
                return False
            self._audio[propertyKey] = float(propertyValue)
            return True
        if propertyKey not in VIDEO_PROPERTIES:
            return False
        self._properties[propertyKey] = propertyValue
        return True

    def GetProperty(self, propertyKey: str = "") -> Any:
        modern = self._app._version >= SPEED_VERSION
        if propertyKey == "Speed":
            return self._speed if modern else None
        readable = dict(self._properties)
        if modern:
            readable.update(self._audio)
        if not propertyKey:
            return readable
        return readable.get(propertyKey)

    def snapshot(self, ids: bool) -> dict[str, Any]:
        linked = [i._uid if ids else [i._kind, i._track_index(), i._start] for i in self._linked()]
        data = {"name": self._name, "media": self._mpi._path, "start": self._start, "duration": self._duration,
                "source_start": self._src_start, "source_end": self._src_end, "enabled": self._enabled,
                "color": self._color, "markers": self.GetMarkers(), "flags": list(self._flags),
                "properties": dict(self._properties), "speed": self._speed, "linked": linked,
                "audio": dict(self._audio), "audio_track": self._track_no}
        if ids:
            data["id"] = self._uid
        return data


class FakeThinItem:
    """What AppendToTimeline can hand back for a placement it dropped: an item with no id whose every getter
    answers None (api §5 "Overlaps": "thin" items "that may not exist"; AYON lib.py: "all Get* calls return None")."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: None


def place_clip(resolve: FakeResolve, path: str, record_offset: int, *, audio_shift: int = 0, track: int = 1,
               mpi: FakeMediaPoolItem | None = None) -> list[FakeTimelineItem]:
    """Put a whole clip on the current timeline, using only the public API as a user's edit would.

    The video lands ``record_offset`` frames after the timeline start on video track ``track``; the audio
    goes on audio track ``track`` ``audio_shift`` frames later (positive: the audio is late), and the two
    are linked. Returns [video, audio] (fewer when Resolve refused a part, e.g. on a locked track).
    """
    project = resolve.GetProjectManager().GetCurrentProject()
    pool = project.GetMediaPool()
    timeline = project.GetCurrentTimeline()
    if mpi is None:
        imported = pool.ImportMedia([path])
        if not imported:
            raise MediaError(f"{path}: the fake Resolve could not import it")
        mpi = imported[0]
    frames = int(mpi.GetClipProperty("Frames"))
    end = frames if resolve._version >= (19, 0, 0) else frames - 1
    start = timeline.GetStartFrame() + record_offset
    infos = []
    if mpi._has_video:
        infos.append({"mediaPoolItem": mpi, "startFrame": 0, "endFrame": end, "recordFrame": start,
                      "trackIndex": track, "mediaType": 1})
    if mpi._has_audio:
        infos.append({"mediaPoolItem": mpi, "startFrame": 0, "endFrame": end, "recordFrame": start + audio_shift,
                      "trackIndex": track, "mediaType": 2})
    if (20, 3, 0) <= resolve._version < (20, 3, 2) and not pool.GetSelectedClips():
        pool.SetSelectedClip(mpi)  # an editor drags a clip from the Media Pool: it is selected there
    items = [i for i in pool.AppendToTimeline(infos) or [] if isinstance(i, FakeTimelineItem)]
    if len(items) > 1 and "SetClipsLinked" in dir(timeline):  # linking is 18.5+; older versions append unlinked
        timeline.SetClipsLinked(items, True)
    return items
