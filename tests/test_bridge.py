"""The bridge lends Resolve objects across a pipe faithfully, and refuses what it must refuse."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from kit.fake_resolve import FakeResolve, place_clip
from kit.project import ReferenceMeasure

from plugin import external, timeline, worker
from plugin.bridge import BridgeError, BridgeServer, RemoteObject, RemoteResolve
from plugin.resolve_api import ResolveUnsupported

TOKEN = "5e" * 32


def project_with_clip(corpus, version: str = "19.0.2") -> FakeResolve:
    resolve = FakeResolve(version)
    resolve.GetProjectManager().GetCurrentProject().GetMediaPool().CreateEmptyTimeline("Interview")
    place_clip(resolve, str(corpus / "real" / "lipnet__bbaf2n.mpg"), 10, audio_shift=2)
    return resolve


@contextlib.contextmanager
def bridged(resolve: FakeResolve, client_token: str = TOKEN, events: list | None = None) -> Iterator[RemoteResolve]:
    """A server thread over real OS pipes, as between the menu script and the worker."""
    req_r, req_w = os.pipe()
    rep_r, rep_w = os.pipe()
    with open(req_r, encoding="utf-8") as requests_in, open(rep_w, "w", encoding="utf-8") as replies_out, \
            open(rep_r, encoding="utf-8") as replies_in, open(req_w, "w", encoding="utf-8") as requests_out:
        server = BridgeServer(resolve, TOKEN)
        seen = [] if events is None else events

        def serve() -> None:
            seen.append(("done", server.serve(requests_in, replies_out, seen.append)))

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        try:
            yield RemoteResolve(replies_in, requests_out, client_token)
        finally:
            requests_out.close()
            thread.join(timeout=10)


def test_calls_round_trip_with_objects_dicts_and_float_keys(corpus):
    resolve = project_with_clip(corpus)
    with bridged(resolve) as remote:
        assert remote.GetVersion() == [19, 0, 2, 0, ""]
        project = remote.GetProjectManager().GetCurrentProject()
        assert isinstance(project, RemoteObject) and project.GetName() == "LipAlign test project"
        tl = project.GetCurrentTimeline()
        video, audio = tl.GetItemListInTrack("video", 1)[0], tl.GetItemListInTrack("audio", 1)[0]
        assert (video.GetStart(), audio.GetStart()) == (90010, 90012)
        # Objects passed back in (inside lists and dicts) arrive as the real objects.
        assert video.GetLinkedItems() == [audio]
        pool = project.GetMediaPool()
        mpi = video.GetMediaPoolItem()
        placed = pool.AppendToTimeline([{"mediaPoolItem": mpi, "startFrame": 0, "endFrame": 10,
                                         "recordFrame": 91000, "trackIndex": 1, "mediaType": 2}])
        assert len(placed) == 1 and placed[0].GetStart() == 91000
        assert tl.AddMarker(96, "Purple", "n", "", 1, '{"a": 1}') is True
        assert tl.GetMarkers() == {96.0: {"color": "Purple", "duration": 1, "note": "", "name": "n",
                                          "customData": '{"a": 1}'}}
        assert isinstance(next(iter(tl.GetMarkers())), float)
        # dir() answers with the whitelisted names the object offers, as feature detection needs.
        assert "GetLinkedItems" in dir(video) and "GetSourceStartFrame" not in dir(video)
        assert mpi.GetClipProperty("FPS") == 25.0
    assert resolve.GetProjectManager().GetCurrentProject().GetCurrentTimeline().GetMarkers()


def test_a_wrong_token_is_refused_and_changes_nothing(corpus):
    resolve = project_with_clip(corpus)
    before = resolve.snapshot()
    with bridged(resolve, client_token="00" * 32) as remote, pytest.raises(BridgeError, match="wrong or missing"):
        remote.GetProjectManager().GetCurrentProject().GetCurrentTimeline().AddMarker(1, "Blue", "x", "", 1, "")
    assert resolve.snapshot() == before


def test_events_with_a_wrong_token_are_ignored(corpus):
    events: list = []
    with bridged(project_with_clip(corpus), client_token="11" * 32, events=events) as remote:
        remote.notify("done", summary={"forged": True})
    assert events == [("done", None)]
    events.clear()
    with bridged(project_with_clip(corpus), events=events) as remote:
        remote.notify("progress", fraction=0.5, stage="measuring")
        remote.notify("done", summary={"clips": []})
    assert [e["op"] for e in events[:-1]] == ["progress", "done"] and events[-1] == ("done", {"clips": []})


@pytest.mark.parametrize("method", ["Quit", "DeleteTimelines", "GetMediaStorage", "__class__", "snapshot"])
def test_methods_outside_the_whitelist_are_refused(corpus, method):
    resolve = project_with_clip(corpus)
    before = resolve.snapshot()
    with bridged(resolve) as remote:
        with pytest.raises(BridgeError, match="not allowed"):
            remote.request("call", 0, method=method, args=[])
        assert remote.GetProductName() == "DaVinci Resolve Studio"  # the server keeps serving
    assert resolve.snapshot() == before


def test_a_failing_call_reports_its_reason_and_the_bridge_goes_on(corpus):
    with bridged(project_with_clip(corpus, "18.5")) as remote:
        item = remote.GetProjectManager().GetCurrentProject().GetCurrentTimeline().GetItemListInTrack("video", 1)[0]
        # 18.5 has no GetLinkedItems: the live object answers None for it, so the call cannot be made.
        with pytest.raises(BridgeError, match="no method GetLinkedItems"):
            item.GetLinkedItems()
        with pytest.raises(BridgeError, match="TypeError"):
            item.GetStart(True)  # subframe_precision is 19.0.2+
        assert item.GetStart() == 90010


def test_align_timeline_gives_the_same_result_live_and_bridged(corpus):
    # The clip's file measured against itself (in sync) and its sound placed 2 frames late: a slip, made in place
    # on 21.1 (a delete and a re-append over the bridge; older versions refuse a forced slip).
    clip = str(corpus / "real" / "lipnet__bbaf2n.mpg")
    measure = ReferenceMeasure()
    measure.originals[clip] = Path(clip)
    direct, lent = project_with_clip(corpus, "21.1"), project_with_clip(corpus, "21.1")
    summary_direct = timeline.align_timeline(direct, strategy="slip", analyze=measure)
    with bridged(lent) as remote:
        summary_bridged = timeline.align_timeline(remote, strategy="slip", analyze=measure)
    assert summary_bridged == summary_direct
    assert lent.snapshot() == direct.snapshot()
    assert summary_direct["timeline"]["duplicate"] is True and summary_direct["clips"][0]["action"] == "slip"


def test_external_scripting_connects_to_studio_and_refuses_the_free_edition():
    studio, free = FakeResolve("19.1"), FakeResolve("19.1", studio=False)
    assert external.connect(SimpleNamespace(scriptapp=studio.scriptapp)) is studio
    with pytest.raises(ResolveUnsupported, match="free edition refuses outside scripts"):
        external.connect(SimpleNamespace(scriptapp=free.scriptapp))


def test_external_module_is_looked_for_in_the_blackmagic_folders(monkeypatch, tmp_path):
    modules = tmp_path / "Modules"
    modules.mkdir()
    (modules / "DaVinciResolveScript.py").write_text("def scriptapp(name):\n    return None\n")
    monkeypatch.setenv("RESOLVE_SCRIPT_API", str(tmp_path))
    monkeypatch.setattr("sys.path", list(__import__("sys").path))
    assert external.module_dirs()[0] == modules
    with pytest.raises(ResolveUnsupported, match="refused the connection"):
        external.connect()
    __import__("sys").modules.pop("DaVinciResolveScript", None)


def test_the_worker_refuses_to_drive_the_free_edition_from_outside_and_notes_it_inside():
    free = FakeResolve("19.1", studio=False)
    free.GetProjectManager().GetCurrentProject().GetMediaPool().CreateEmptyTimeline("Interview")
    events: list = []

    def emit(op: str, **fields: object) -> None:
        events.append((op, fields))

    with pytest.raises(ResolveUnsupported, match="free DaVinci Resolve refuses scripts from outside the application"):
        worker.run(free, worker.parse_args(["--external"]), emit)
    # From Workspace > Scripts (the bridge) the same Resolve is served, and the editor is told what free limits.
    summary = worker.run(free, worker.parse_args(["--revert"]), emit)
    assert summary["reverted"] == [] and not summary["failed"]
    assert any(op == "log" and "free edition" in fields["text"] for op, fields in events), events
