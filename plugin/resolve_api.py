"""Every DaVinci Resolve API method LipAlign calls, and the version and edition checks around them.

The tuples below are the whole surface the plugin touches, one per object class. They are the
bridge's whitelist (nothing else can be called through it) and tests/test_api_names.py checks each
name against the published ``fusionscript-stubs`` and scans plugin/*.py so that no call escapes the
list. Version facts (minimum, speed property) come from manifest.json.

This module also runs inside the Python that Resolve offers to menu scripts (3.6 and later), because
the bridge server imports it: standard library only, no syntax or annotations newer than 3.6.
"""

# ruff: noqa: UP006, UP035

import re
from typing import Any, Dict, List, Tuple

from core.version import MANIFEST

__all__ = ["ALL_METHODS", "METHODS", "NEWER_THAN_STUBS", "Capabilities", "ResolveUnsupported", "check_support",
           "has_method", "parse_version", "version_text"]

METHODS = {
    "Resolve": ("GetVersion", "GetVersionString", "GetProductName", "GetProjectManager", "OpenPage",
                "GetCurrentPage"),
    "ProjectManager": ("GetCurrentProject",),
    "Project": ("GetName", "GetUniqueId", "GetMediaPool", "GetCurrentTimeline", "SetCurrentTimeline",
                "GetTimelineCount", "GetTimelineByIndex", "GetSetting"),
    "MediaPool": ("GetRootFolder", "GetCurrentFolder", "SetCurrentFolder", "AddSubFolder", "ImportMedia",
                  "AppendToTimeline", "GetSelectedClips", "SetSelectedClip"),
    "Folder": ("GetName", "GetSubFolderList", "GetClipList", "GetUniqueId"),
    "MediaPoolItem": ("GetName", "GetUniqueId", "GetMediaId", "GetClipProperty", "GetAudioMapping"),
    "Timeline": ("GetName", "GetUniqueId", "GetStartFrame", "GetStartTimecode", "GetSetting", "GetTrackCount",
                 "AddTrack", "GetItemListInTrack", "GetIsTrackLocked", "SetTrackName", "GetTrackSubType",
                 "DeleteTrack", "DeleteClips", "SetClipsLinked", "AddMarker", "GetMarkers", "DeleteMarkerAtFrame",
                 "DuplicateTimeline", "GetSelectedClips", "GetMarkInOut", "SetCurrentTimecode"),
    "TimelineItem": ("GetName", "SetName", "GetUniqueId", "GetStart", "GetEnd", "GetLeftOffset", "GetRightOffset",
                     "GetTrackTypeAndIndex",
                     "GetSourceStartTime", "GetSourceEndTime", "GetMediaPoolItem", "GetLinkedItems",
                     "GetSourceAudioChannelMapping", "SetClipEnabled", "GetClipEnabled", "SetClipColor",
                     "GetClipColor", "ClearClipColor", "GetProperty", "SetProperty", "AddFlag", "GetFlagList",
                     "AddMarker", "GetMarkers"),
}

# Methods newer than the pinned fusionscript-stubs (21.0.0), with the Scripting API Changelog entry that adds them.
NEWER_THAN_STUBS = {
    "Timeline": {"GetSelectedClips": "21.0.4"},
}

ALL_METHODS = frozenset(name for names in METHODS.values() for name in names)

VersionTuple = Tuple[int, int, int]


class ResolveUnsupported(Exception):
    """This Resolve cannot run LipAlign; the message says why and what to do, in one sentence."""


def parse_version(value: Any) -> VersionTuple:
    """``(major, minor, patch)`` from ``GetVersion()`` ([19, 0, 2, 7, ""]) or a string such as "19.0.2.7"."""
    if isinstance(value, (list, tuple)):
        numbers = [int(v) for v in value[:3] if isinstance(v, int) or str(v).isdigit()]
    else:
        numbers = [int(v) for v in re.findall(r"\d+", str(value))[:3]]
    if not numbers:
        raise ValueError(f"unreadable Resolve version: {value!r}")
    numbers += [0] * (3 - len(numbers))
    return (numbers[0], numbers[1], numbers[2])


def version_text(version: VersionTuple) -> str:
    major, minor, patch = version
    return f"{major}.{minor}.{patch}" if patch else f"{major}.{minor}"


MINIMUM_VERSION = parse_version(MANIFEST["resolve"]["minimum_version"])
RECOMMENDED_VERSION = parse_version(MANIFEST["resolve"]["recommended_version"])
SPEED_VERSION = parse_version(MANIFEST["resolve"]["speed_property_version"])


def has_method(obj: Any, name: str) -> bool:
    """Whether a Resolve object offers ``name``: by ``dir()``, since every attribute reads as present."""
    try:
        return name in dir(obj)
    except Exception:  # a dead remote object cannot even list itself
        return False


class Capabilities:
    """What the connected Resolve can do, read once from ``GetVersion``, ``GetProductName`` and ``dir()``."""

    def __init__(self, version: VersionTuple, product: str, studio: bool, notes: List[str]) -> None:
        self.version = version
        self.product = product
        self.studio = studio
        self.notes = notes

    @property
    def speed_property(self) -> bool:
        """``TimelineItem.Get/SetProperty("Speed")`` exists: the scripting API changelog of 21.1 lists "Speed"
        among the TimelineItem properties (users-and-competitors.md §3.4; resolve-api.md still says no speed
        key through 21.0.2). Its units are not documented."""
        return self.version >= SPEED_VERSION

    @property
    def audio_properties(self) -> bool:
        """Clip gain, fades and other native audio properties are readable and settable through
        ``TimelineItem.Get/SetProperty``: Changelog 21.1 ("native audio properties", "Get/Set Fades"); before
        it ``SetProperty('Volume')`` returns False (resolve-api.md §5 "Fairlight")."""
        return self.version >= SPEED_VERSION

    @property
    def version_text(self) -> str:
        return version_text(self.version)

    def refused(self, what: str) -> str:
        """The message for a call Resolve refused, with the likely cause on the free edition."""
        text = f"Resolve refused to {what}"
        if not self.studio:
            text += f" ({self.product} is the free edition, which refuses some scripting calls; use Studio)"
        return text

    def to_dict(self) -> Dict[str, Any]:
        return {"version": version_text(self.version), "product": self.product, "studio": self.studio,
                "speed_property": self.speed_property, "audio_properties": self.audio_properties,
                "notes": list(self.notes)}


def check_support(resolve: Any, external: bool = False) -> Capabilities:
    """Read the version and edition of ``resolve`` and refuse, with a clear reason, what cannot work.

    Parameters
    ----------
    resolve : Resolve object (live, from ``scriptapp``, bridged, or the fake)
    external : bool
        True when LipAlign drives Resolve from outside (``DaVinciResolveScript.scriptapp``), which
        the free edition refuses.

    Raises
    ------
    ResolveUnsupported
        No Resolve, a version below the manifest's minimum, or the free edition driven externally.
    """
    if resolve is None:
        raise ResolveUnsupported(
            "DaVinci Resolve did not answer: start Resolve (Studio, with Preferences > System > General > "
            "External scripting using: Local) or run LipAlign from Workspace > Scripts")
    version = parse_version(resolve.GetVersion() or resolve.GetVersionString())
    product = str(resolve.GetProductName() or "DaVinci Resolve")
    studio = "Studio" in product
    if version < MINIMUM_VERSION:
        raise ResolveUnsupported(
            f"LipAlign needs DaVinci Resolve {version_text(MINIMUM_VERSION)} or later (this is "
            f"{version_text(version)}): placing audio at a track and record frame, deleting and linking timeline "
            "items arrived in 18.5; please update Resolve")
    if external and not studio:
        raise ResolveUnsupported(
            "the free DaVinci Resolve refuses scripts from outside the application (external scripting is a "
            "Studio feature); run LipAlign from Workspace > Scripts > Auto-align lips instead")
    notes = []
    if version < RECOMMENDED_VERSION:
        notes.append(f"Resolve {version_text(version)} lacks GetLinkedItems and GetSourceStartFrame; "
                     f"{version_text(RECOMMENDED_VERSION)} or later reads clips more exactly")
    if not studio:
        notes.append("free edition: runs from the Scripts menu only; Resolve 21.1 free no longer lists Python "
                     "scripts there")
    return Capabilities(version, product, studio, notes)

