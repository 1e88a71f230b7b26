"""Fake projects for timeline tests, what revert must restore, and a reference measurement of shifted copies.

:class:`ReferenceMeasure` measures a copy whose audio was shifted from a corpus clip by comparing the two
sounds to the sample (``core.compare``), so the timeline mechanics are checked exactly whatever the lip
estimator's accuracy; any other file gets the full lip analysis.
"""

from __future__ import annotations

from pathlib import Path

from core.analyze import analyze_file
from core.compare import compare_files
from core.model import Report, SyncResult
from core.probe import probe
from core.report import fix_from_sync
from kit.fake_resolve import FakeResolve

__all__ = ["ReferenceMeasure", "audio_items", "content", "items_by_track", "new_project", "original_of", "pool_of",
           "timeline_of", "timelines", "uncoloured"]

FRAME_MS = 40.0


class ReferenceMeasure:
    """path -> Report for ``align_timeline(analyze=...)``: shifted copies against their originals, cached."""

    def __init__(self) -> None:
        self.originals: dict[str, Path] = {}
        self.drifting: set[str] = set()
        self.inconclusive: set[str] = set()
        self._reports: dict[str, Report] = {}

    def __call__(self, path: str) -> Report:
        if path in self.inconclusive:
            sync = SyncResult.inconclusive("the mouth movement does not match this audio clearly enough")
            return Report(path, probe(path), sync, [], fix_from_sync(sync, 25.0))
        if path not in self._reports:
            if path in self.originals:
                found = compare_files(self.originals[path], path)
                if path in self.drifting:
                    sync = SyncResult("drift", found.offset_at_start_ms, found.offset_at_start_ms / FRAME_MS,
                                      found.drift_ms_per_min, 1.0)
                else:
                    sync = SyncResult("offset", found.audio_offset_ms, found.audio_offset_ms / FRAME_MS, 0.0, 1.0)
                self._reports[path] = Report(path, probe(path), sync, [], fix_from_sync(sync, 25.0))
            else:
                self._reports[path] = analyze_file(path).report
        return self._reports[path]


def new_project(version: str = "21.1", rate: str = "25") -> FakeResolve:
    resolve = FakeResolve(version, frame_rate=rate)
    project = resolve.GetProjectManager().GetCurrentProject()
    if "DF" in rate:
        project.SetSetting("timelineFrameRate", rate)
    project.GetMediaPool().CreateEmptyTimeline("Edit")
    return resolve


def timeline_of(resolve: FakeResolve):
    return resolve.GetProjectManager().GetCurrentProject().GetCurrentTimeline()


def pool_of(resolve: FakeResolve):
    return resolve.GetProjectManager().GetCurrentProject().GetMediaPool()


def original_of(resolve: FakeResolve):
    return resolve.GetProjectManager().GetCurrentProject().GetTimelineByIndex(1)


def timelines(resolve: FakeResolve) -> list:
    project = resolve.GetProjectManager().GetCurrentProject()
    return [project.GetTimelineByIndex(i) for i in range(1, project.GetTimelineCount() + 1)]


def content(timeline) -> dict:
    """Everything on a timeline except its name and ids: what revert must restore exactly."""
    snap = timeline.snapshot(ids=False)
    snap.pop("name")
    return snap


def audio_items(timeline, track: int = 1) -> list:
    return timeline.GetItemListInTrack("audio", track) or []


def items_by_track(snapshot: dict, leave_out: str = "") -> dict:
    """Every item of a content snapshot by (track type, index), less the items of the clip named ``leave_out``."""
    return {(kind, n): [i for i in track["items"] if i["name"] != leave_out]
            for kind, tracks in snapshot["tracks"].items() for n, track in enumerate(tracks, 1)}


def uncoloured(by_track: dict) -> dict:
    """Items by track without their clip colour (every clip LipAlign looks at is coloured by its outcome)."""
    return {k: [{**i, "color": None} for i in v] for k, v in by_track.items()}
