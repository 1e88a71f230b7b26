"""The menu script, launched the way Resolve launches it, drives a whole run through the real bridge and worker.

A child Python process plays Resolve: it builds the fake object model with real corpus clips on a
timeline, injects it as the global ``resolve`` and runs "Auto-align lips.py" as ``__main__``. The
script starts the real worker from .venv, which analyses the media and edits the timeline over the
bridge. The child reports the summary and the project before and after.
"""

from __future__ import annotations

import ast
import json
import os
import py_compile
import runpy
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from kit.fake_resolve import FakeResolve, place_clip
from remux import first_seconds

from core.correct import write_corrected_media
from plugin.bridge import BridgeServer
from plugin.resolve_api import ALL_METHODS

REPO = Path(__file__).resolve().parent.parent
MENU = REPO / "plugin" / "menu" / "Auto-align lips.py"
REVERT = REPO / "plugin" / "menu" / "Revert LipAlign changes.py"
# Files that run inside the Python Resolve offers (3.6+): the scripts and what they import from LipAlign.
OLD_PYTHON_FILES = [MENU, REVERT, REPO / "plugin" / "bridge.py", REPO / "plugin" / "resolve_api.py",
                    REPO / "plugin" / "__init__.py", REPO / "core" / "__init__.py", REPO / "core" / "version.py"]
# The child processes that play Resolve import the fake from the test kit (tests/kit) and LipAlign from the repo.
CHILD_PATH = os.pathsep.join([str(REPO), str(REPO / "tests")])
PYTHON36 = shutil.which("python3.6") and Path(os.path.expanduser("~/.pyenv/versions/3.6.15/bin/python3.6"))

CHILD = r"""
import json, os, runpy, sys
from kit.fake_resolve import FakeResolve, place_clip

out, clips, runs = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
resolve = FakeResolve(os.environ.get("FAKE_RESOLVE_VERSION", "19.0.2"))
resolve.GetProjectManager().GetCurrentProject().GetMediaPool().CreateEmptyTimeline("Interview")
for path, offset, shift in clips:
    place_clip(resolve, path, offset, audio_shift=shift)
result = {"before": resolve.snapshot(ids=False), "runs": []}
for menu, worker_args, mode in runs:  # one Scripts-menu run each, on the same Resolve session
    os.environ["LIPALIGN_WORKER_ARGS"], os.environ["LIPALIGN_MODE"] = worker_args, mode
    names = runpy.run_path(menu, init_globals={"resolve": resolve, "__file__": menu}, run_name="__main__")
    result["runs"].append({"summary": names["LAST_SUMMARY"], "after": resolve.snapshot(ids=False)})
with open(out, "w") as handle:
    json.dump(result, handle, default=str)
"""


def run_child(tmp_path: Path, clips: list, runs: list[str | tuple[Path, str, str]],
              version: str = "21.1") -> tuple[dict, subprocess.CompletedProcess]:
    """Play Resolve in a child process: ``runs`` are worker arguments for the headless align script, or
    (script, worker arguments, mode) triples."""
    out = tmp_path / "result.json"
    env = dict(os.environ, LIPALIGN_HOME=str(REPO), LIPALIGN_PYTHON=str(REPO / ".venv" / "bin" / "python"),
               LIPALIGN_LOG_DIR=str(tmp_path / "logs"), PYTHONPATH=CHILD_PATH, FAKE_RESOLVE_VERSION=version,
               XDG_CONFIG_HOME=str(tmp_path / "config"), QT_QPA_PLATFORM="offscreen")
    runs = [[str(MENU), r, "headless"] if isinstance(r, str) else [str(r[0]), r[1], r[2]] for r in runs]
    proc = subprocess.run([sys.executable, "-c", CHILD, str(out), json.dumps(clips), json.dumps(runs)],
                          env=env, capture_output=True, text=True, timeout=900, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text()), proc


def test_menu_script_drives_a_whole_run_against_the_fake_and_reverts_it(tmp_path, corpus):
    # 10 s of a corpus interview (the estimator reads it within a frame of sync, confidently) with its sound
    # 120 ms (3 frames) early: far outside one frame, so it must be slipped. The other clip is left as it is.
    excerpt = first_seconds(corpus / "real" / "dfrf__cnn2_25fps.mp4", tmp_path / "anchor.mp4", 10.0)
    early = tmp_path / "early120.mp4"
    write_corrected_media(excerpt, early, offset_ms=120.0)
    clips = [[str(early), 0, 0], [str(corpus / "real" / "lipnet__lbax4n.mpg"), 300, 0]]
    result, proc = run_child(tmp_path, clips, ["", "--revert"])
    align, revert = result["runs"]
    summary = align["summary"]
    logs = sorted((tmp_path / "logs").glob("lipalign-*.log"))
    assert summary is not None, (proc.stdout[-2000:], logs and logs[0].read_text()[-3000:])
    assert summary["schema"] == "lipalign.timeline/1"
    assert len(summary["clips"]) == 2
    shifted = next(c for c in summary["clips"] if c["clip"] == early.name)
    assert shifted["action"] == "slip" and shifted["measurement"]["slip_frames"] in (-2, -3, -4), shifted
    # The summaries also landed as files in the per-user log folder, and progress reached Resolve's console.
    written = sorted((tmp_path / "logs").glob("summary-*.json"), key=lambda p: p.stat().st_mtime)
    assert len(written) == 2 and json.loads(written[0].read_text()) == summary
    assert "LipAlign: 100% done" in proc.stdout
    # The original timeline is untouched; the run worked on a duplicate that is now current.
    before, after = result["before"], align["after"]
    original, = before["timelines"]
    assert after["timelines"][0] == original
    duplicate = after["timelines"][1]
    assert after["current_timeline"] == duplicate["name"] == summary["timeline"]["name"]
    # Every change carries a marker whose custom data is a JSON audit record naming the items.
    changed = [c for c in summary["clips"] if c["action"] not in ("none", "skipped")]
    assert shifted in changed
    records = [json.loads(m["customData"]) for m in duplicate["markers"].values()]
    edits = [r["clip"] for r in records if r.get("action") in ("slip", "conform", "speed")]
    assert edits == [c["clip"] for c in changed]
    # Every other clip carries its outcome, and one legend explains the colours.
    assert sum(r.get("schema") == "lipalign.legend/1" for r in records) == 1
    assert len(records) == len(summary["clips"]) + 1
    assert (duplicate["tracks"] != original["tracks"]) == bool(changed)
    for clip in changed:
        assert any(clip["video_item_id"] in json.dumps(r) for r in records)
    # Revert, a second menu run, brings the duplicate back to the original's content exactly.
    assert revert["summary"] is not None
    restored = revert["after"]["timelines"][1]
    assert restored["tracks"] == original["tracks"] and restored["markers"] == original["markers"]


def test_the_menu_entry_opens_the_panel_which_aligns_and_the_revert_entry_undoes_it(tmp_path, corpus):
    # As above, but the way an editor gets it: the menu entry starts the panel (here told to press Measure, then
    # Apply, then close), and the "Revert LipAlign changes" entry opens it to revert.
    excerpt = first_seconds(corpus / "real" / "dfrf__cnn2_25fps.mp4", tmp_path / "anchor.mp4", 10.0)
    early = tmp_path / "early120.mp4"
    write_corrected_media(excerpt, early, offset_ms=120.0)
    runs = [(MENU, "--run measure,apply", "panel"), (REVERT, "--run revert", "panel")]
    result, proc = run_child(tmp_path, [[str(early), 0, 0]], runs)
    align, revert = result["runs"]
    log = "".join(p.read_text() for p in sorted((tmp_path / "logs").glob("lipalign-*.log")))
    assert "-m plugin.panel --log" in log and "--revert" in log
    summary = align["summary"]
    assert summary is not None, (proc.stdout[-2000:], log[-3000:])
    (clip,) = summary["clips"]
    assert clip["action"] == "slip" and clip["measurement"]["slip_frames"] in (-2, -3, -4), clip
    original = result["before"]["timelines"][0]
    assert align["after"]["timelines"][0] == original
    assert align["after"]["current_timeline"] == summary["timeline"]["name"] != original["name"]
    assert revert["summary"] is not None and [r["clip"] for r in revert["summary"]["reverted"]] == [early.name]
    restored = revert["after"]["timelines"][1]
    assert restored["tracks"] == original["tracks"] and restored["markers"] == original["markers"]


def test_menu_script_shows_why_an_old_resolve_is_refused_and_changes_nothing(tmp_path, corpus):
    clips = [[str(corpus / "real" / "lipnet__lbax4n.mpg"), 0, 3]]
    result, proc = run_child(tmp_path, clips, [""], version="18.1.3")
    (run,) = result["runs"]
    assert run["summary"] is None and run["after"] == result["before"]
    # The editor reads the reason in Resolve's console (this script's stdout).
    assert "LipAlign: stopped: LipAlign needs DaVinci Resolve 18.5 or later (this is 18.1.3)" in proc.stdout


def test_menu_script_reports_a_missing_installation(tmp_path):
    env = dict(os.environ, LIPALIGN_LOG_DIR=str(tmp_path), PYTHONPATH=CHILD_PATH)
    env.pop("LIPALIGN_HOME", None)
    code = ("import runpy, sys; from kit.fake_resolve import FakeResolve; "
            f"runpy.run_path({str(tmp_path / 'menu.py')!r}, init_globals={{'resolve': FakeResolve()}}, "
            "run_name='__main__')")
    shutil.copy(MENU, tmp_path / "menu.py")  # a folder with no LipAlign.config.json beside the script
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "LipAlign is not installed: run installer/install_resolve.py" in proc.stdout


@pytest.mark.parametrize("path", OLD_PYTHON_FILES, ids=lambda p: p.name)
def test_files_run_by_resolves_python_use_only_3_6_syntax(path, tmp_path):
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, feature_version=(3, 6))
    py_compile.compile(str(path), cfile=str(tmp_path / "compiled.pyc"), doraise=True)
    for node in ast.walk(tree):
        assert not (isinstance(node, ast.ImportFrom) and node.module == "__future__"
                    and any(a.name == "annotations" for a in node.names)), "postponed annotations need 3.7"
        assert not isinstance(node, ast.NamedExpr | ast.Match)
        if isinstance(node, ast.FormattedValue):
            assert node.conversion in (-1, 97, 114, 115)
        annotations = []
        if isinstance(node, ast.FunctionDef):
            annotations = [a.annotation for a in node.args.args + node.args.kwonlyargs] + [node.returns]
        elif isinstance(node, ast.AnnAssign):
            annotations = [node.annotation]
        for annotation in filter(None, annotations):
            for part in ast.walk(annotation):
                # Evaluated at definition time on 3.6: list[str] and X | None raise TypeError there.
                assert not (isinstance(part, ast.BinOp) and isinstance(part.op, ast.BitOr)), ast.unparse(annotation)
                assert not (isinstance(part, ast.Subscript) and isinstance(part.value, ast.Name)
                            and part.value.id in ("list", "dict", "tuple", "set", "frozenset", "type")), \
                    ast.unparse(annotation)
    if path == MENU:
        imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 0}
        assert imported <= set(sys.stdlib_module_names) | {"plugin", "DaVinciResolveScript"}


@pytest.mark.skipif(not (PYTHON36 and PYTHON36.exists()), reason="no Python 3.6 interpreter on this machine")
def test_a_real_python_3_6_imports_the_bridge_and_compiles_the_menu_script(tmp_path):
    code = ("import sys, py_compile; sys.path.insert(0, sys.argv[1]); import plugin.bridge, plugin.resolve_api; "
            "py_compile.compile(sys.argv[2], cfile=sys.argv[3], doraise=True); "
            "print(len(plugin.resolve_api.ALL_METHODS))")
    proc = subprocess.run([str(PYTHON36), "-c", code, str(REPO), str(MENU), str(tmp_path / "menu.pyc")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout) == len(ALL_METHODS)


OLD_CHILD = r"""
import os, runpy, sys
sys.path.insert(0, os.environ["LIPALIGN_HOME"])
from plugin.bridge import RemoteResolve

replies, requests = os.fdopen(int(sys.argv[1]), "r", encoding="utf-8"), os.fdopen(int(sys.argv[2]), "w",
                                                                                   encoding="utf-8")
resolve = RemoteResolve(replies, requests, sys.argv[3])
names = runpy.run_path(sys.argv[4], init_globals={"resolve": resolve}, run_name="__main__")
resolve.notify("done", summary=names["LAST_SUMMARY"])
"""


@pytest.mark.skipif(not (PYTHON36 and PYTHON36.exists()), reason="no Python 3.6 interpreter on this machine")
def test_menu_script_runs_a_whole_alignment_in_python_3_6(tmp_path, corpus):
    """The menu script and its bridge server in a real Python 3.6, as an old Resolve may offer it.

    Its ``resolve`` is the fake in this process, lent over a second bridge (the fake needs a modern Python);
    the script serves it to the worker in .venv exactly as it would serve the live object.
    """
    resolve = FakeResolve("21.1")  # slips in place (older versions render corrected audio instead)
    resolve.GetProjectManager().GetCurrentProject().GetMediaPool().CreateEmptyTimeline("Interview")
    place_clip(resolve, str(corpus / "real" / "lipnet__lbax4n.mpg"), 10, audio_shift=3)
    before = resolve.snapshot(ids=False)
    token = secrets.token_hex(32)
    to_child, from_parent = os.pipe()
    to_parent, from_child = os.pipe()
    env = dict(os.environ, LIPALIGN_HOME=str(REPO), LIPALIGN_PYTHON=str(REPO / ".venv" / "bin" / "python"),
               LIPALIGN_LOG_DIR=str(tmp_path / "logs"), LIPALIGN_MODE="headless")
    env.pop("PYTHONPATH", None)
    with open(tmp_path / "console.txt", "w") as console:
        child = subprocess.Popen([str(PYTHON36), "-c", OLD_CHILD, str(to_child), str(from_child), token, str(MENU)],
                                 pass_fds=(to_child, from_child), env=env, stdout=console, stderr=subprocess.STDOUT)
    os.close(to_child)
    os.close(from_child)
    with open(to_parent, encoding="utf-8") as requests, open(from_parent, "w", encoding="utf-8") as replies:
        summary = BridgeServer(resolve, token).serve(requests, replies)
    assert child.wait(timeout=60) == 0, (tmp_path / "console.txt").read_text()[-3000:]
    console_text = (tmp_path / "console.txt").read_text()
    assert summary is not None, console_text[-3000:]
    (clip,) = summary["clips"]
    # A duplicate exactly when something changed.
    assert summary["timeline"]["duplicate"] == (clip["action"] != "none") and "LipAlign: 100% done" in console_text
    after = resolve.snapshot(ids=False)
    assert after["timelines"][0] == before["timelines"][0] and after["current_timeline"] == summary["timeline"]["name"]
    assert clip["action"] in ("slip", "none") and clip["measurement"] is not None, clip


def installed_launcher(tmp_path: Path) -> Path:
    """An install's launcher folder as the installer leaves it: the menu script and the config naming the code."""
    launcher = tmp_path / "install" / "launcher"
    (tmp_path / "install" / "env" / "bin").mkdir(parents=True)
    python = tmp_path / "install" / "env" / "bin" / "python"
    python.write_text("")
    launcher.mkdir()
    shutil.copy(MENU, launcher / "Auto-align lips.py")
    config = {"home": str(launcher.parent), "python": str(python), "code": str(tmp_path / "install" / "env"),
              "scope": "user", "version": "0.1.0", "entry": "python"}
    (launcher / "LipAlign.config.json").write_text(json.dumps(config))
    for path in (tmp_path, *tmp_path.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return launcher


def test_the_entry_refuses_code_another_account_could_have_changed(tmp_path, monkeypatch):
    monkeypatch.delenv("LIPALIGN_HOME", raising=False)
    launcher = installed_launcher(tmp_path)
    names = runpy.run_path(str(launcher / "Auto-align lips.py"), run_name="lipalign_menu")
    assert names["load_config"]()["python"].endswith("env/bin/python")  # owner-only all the way down: accepted
    launcher.chmod(0o775)
    with pytest.raises(RuntimeError, match=r"refused to start LipAlign: .*/launcher can be changed by other "
                                           r"accounts \(mode 775\)"):
        names["load_config"]()
    launcher.chmod(0o755)
    (tmp_path / "install" / "env").chmod(0o757)  # the code folder, writable by anyone
    with pytest.raises(RuntimeError, match="env can be changed by other accounts"):
        names["load_config"]()
    (tmp_path / "install" / "env").chmod(0o755)
    if os.geteuid() == 0:  # only root can give a file away
        os.chown(launcher / "LipAlign.config.json", 4321, 4321)
        with pytest.raises(RuntimeError, match=r"LipAlign.config.json belongs to another account \(uid 4321\)"):
            names["load_config"]()


@pytest.mark.parametrize("platform", ["darwin", "win32", "linux"])
def test_the_fallback_log_folder_is_lipaligns(platform, tmp_path, monkeypatch):
    """The script's own log folder (used before LipAlign is reached) is core.locations' per-user one."""
    from core import locations

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    for name in ("LIPALIGN_LOG_DIR", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", platform)
    names = runpy.run_path(str(MENU), run_name="lipalign_menu")
    assert Path(names["log_folder"]()) == locations.log_folder("user", platform)
