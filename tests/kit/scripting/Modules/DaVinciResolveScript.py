"""A stand-in for Blackmagic's DaVinciResolveScript module, for runs that reach Resolve by external scripting.

Set $RESOLVE_SCRIPT_API to tests/kit/scripting (plugin.external looks in its Modules folder) and
``scriptapp("Resolve")`` returns the test fake with an "Interview" timeline of the clips in $FAKE_RESOLVE_CLIPS
(JSON: [[path, record frame, audio shift], ...]). When the process ends, the project before and after is
written to $FAKE_RESOLVE_OUT, so a test in another process sees what the run did.
"""

from __future__ import annotations

import atexit
import json
import os
from typing import Any

from kit.fake_resolve import FakeResolve, place_clip

_resolve: FakeResolve | None = None


def scriptapp(name: str) -> Any:
    global _resolve
    if name != "Resolve":
        return None
    if _resolve is None:
        _resolve = FakeResolve(os.environ.get("FAKE_RESOLVE_VERSION", "19.0.2"))
        _resolve.GetProjectManager().GetCurrentProject().GetMediaPool().CreateEmptyTimeline("Interview")
        for path, record, shift in json.loads(os.environ.get("FAKE_RESOLVE_CLIPS", "[]")):
            place_clip(_resolve, path, record, audio_shift=shift)
        before = _resolve.snapshot(ids=False)
        atexit.register(_write, before)
    return _resolve


def _write(before: dict) -> None:
    with open(os.environ["FAKE_RESOLVE_OUT"], "w", encoding="utf-8") as out:
        json.dump({"before": before, "after": _resolve.snapshot(ids=False)}, out, default=str)
