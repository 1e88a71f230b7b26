"""Studio deployment, end to end: build the offline bundle, install it per user and for all users with no
package index reachable, run the installed entry the way Resolve runs it through a whole measure-and-apply,
upgrade over it keeping a configuration change, uninstall, and find nothing left but the user's own logs.

The bundle is built once per run (about 760 MB of wheels for Python 3.11 and 3.12, cached in
$LIPALIGN_BUNDLE_CACHE when set); each install builds a real environment from it (about 40 s).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from remux import first_seconds

from core.correct import write_corrected_media

REPO = Path(__file__).resolve().parent.parent
TESTS = REPO / "tests"
BUILD = REPO / "installer" / "build_bundle.py"
INSTALL = REPO / "installer" / "install_resolve.py"
# Any attempt to reach a package index or proxy fails at once: the bundle must be the only source.
NO_NETWORK = {"PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_EXTRA_INDEX_URL": "",
              "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9",
              "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}

# A Python child that plays Resolve: the fake with clips on a timeline, and the installed menu entry run with the
# ``resolve`` global, as Workspace > Scripts does.
PLAY_RESOLVE = r"""
import json, runpy, sys
from kit.fake_resolve import FakeResolve, place_clip

entry, clips, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
resolve = FakeResolve("21.1")  # slips are made from 21.1 (gain and fades readable)
resolve.GetProjectManager().GetCurrentProject().GetMediaPool().CreateEmptyTimeline("Interview")
for path, record, shift in clips:
    place_clip(resolve, path, record, audio_shift=shift)
before = resolve.snapshot(ids=False)
names = runpy.run_path(entry, init_globals={"resolve": resolve, "__file__": entry}, run_name="__main__")
with open(out, "w") as handle:
    json.dump({"summary": names["LAST_SUMMARY"], "before": before, "after": resolve.snapshot(ids=False)}, handle,
              default=str)
"""

# The Lua entry, run by LuaJIT (lupa) as Resolve runs it: it starts the menu script with LipAlign's Python.
RUN_LUA = r"""
import sys
from lupa import luajit21

luajit21.LuaRuntime().execute(open(sys.argv[1], encoding="utf-8").read())
"""


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """A user's environment with ``home`` as the home folder and nothing of this test run's LipAlign settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LIPALIGN_", "XDG_", "PIP_", "VIRTUAL_ENV", "PYTHONPATH"))}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen", **NO_NETWORK, **extra)
    return env


def build(out: Path, cache: Path, source: Path = REPO) -> Path:
    done = subprocess.run([sys.executable, str(source / "installer" / "build_bundle.py"), "-o", str(out),
                           "--cache", str(cache)], capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    return Path(done.stdout.split(" (")[0].strip())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files_under(folder: Path) -> set[str]:
    """Every file under ``folder``, but rustup's settings: this machine's toolchain writes them into a fresh home
    whenever ensurepip runs (``python -m venv``), which is not LipAlign's doing."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")
            if (p.is_file() or p.is_symlink()) and p.relative_to(folder).parts[0] != ".rustup"}


@pytest.fixture(scope="module")
def wheel_cache(tmp_path_factory) -> Path:
    return Path(os.environ.get("LIPALIGN_BUNDLE_CACHE") or tmp_path_factory.mktemp("wheels"))


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, wheel_cache) -> Path:
    return build(tmp_path_factory.mktemp("bundle"), wheel_cache)


@pytest.fixture
def interview(tmp_path, corpus) -> list:
    """10 s of a corpus interview with its sound 120 ms early: the run must slip it."""
    excerpt = first_seconds(corpus / "real" / "dfrf__cnn2_25fps.mp4", tmp_path / "anchor.mp4", 10.0)
    early = tmp_path / "early120.mp4"
    write_corrected_media(excerpt, early, offset_ms=120.0)
    return [[str(early), 0, 0]]


def install(bundle: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    # The bundle runs as the installer itself: `python3 lipalign-VERSION-PLATFORM.zip [...]`.
    return subprocess.run([sys.executable, str(bundle), "--quiet", *args], env=env, capture_output=True, text=True,
                          timeout=900)


def assert_owner_only(folder: Path) -> None:
    for path in (folder, *folder.rglob("*")):
        mode = path.lstat().st_mode
        if not stat.S_ISLNK(mode):
            assert not mode & 0o022, f"{path} is writable by others ({stat.S_IMODE(mode):o})"


def test_two_builds_of_one_commit_are_the_same_bundle(bundle, wheel_cache, tmp_path):
    again = build(tmp_path, wheel_cache)
    assert again.name == bundle.name and sha256(again) == sha256(bundle)
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        info = json.loads(archive.read("BUNDLE.json"))
        sums = dict(line.split("  ")[::-1] for line in archive.read("SHA256SUMS").decode().splitlines())
    assert info["pythons"] == ["3.11", "3.12"] and info["platform"] == "linux-x86_64"
    assert set(sums) == names - {"SHA256SUMS"}
    assert {"__main__.py", "manifest.json", "requirements.lock", "installer/install_resolve.py",
            "plugin/menu/Auto-align lips.py", "plugin/menu/launcher.lua", f"wheels/{info['lipalign_wheel']}"} <= names
    wheels = [n for n in names if n.startswith("wheels/")]
    assert any("cp311" in n for n in wheels) and any("cp312" in n for n in wheels)


def test_per_user_install_runs_upgrades_keeping_the_config_and_uninstalls_cleanly(
        bundle, wheel_cache, interview, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home)
    done = install(bundle, env)
    assert done.returncode == 0, done.stderr
    prefix = home / ".local" / "share" / "lipalign"
    scripts = home / ".local" / "share" / "DaVinciResolve" / "Fusion" / "Scripts" / "Utility"
    receipt = json.loads((prefix / "receipt.json").read_text())
    assert receipt["version"] == "0.1.0" and receipt["scope"] == "user"
    assert sorted(p.name for p in scripts.iterdir()) == ["Auto-align lips.py", "Revert LipAlign changes.py"]
    assert_owner_only(prefix)

    # Resolve runs the entry with its `resolve` global: a whole measure-and-apply, headless for the test.
    out = tmp_path / "run.json"
    play = subprocess.run([sys.executable, "-c", PLAY_RESOLVE, str(scripts / "Auto-align lips.py"),
                           json.dumps(interview), str(out)],
                          env={**env, "PYTHONPATH": str(TESTS), "LIPALIGN_MODE": "headless"},
                          capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert play.returncode == 0, play.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["summary"] is not None, play.stdout[-3000:]
    (clip,) = result["summary"]["clips"]
    assert clip["action"] == "slip" and clip["measurement"]["slip_frames"] in (-2, -3, -4), clip
    assert result["after"]["timelines"][0] == result["before"]["timelines"][0]  # the original is untouched
    assert len(result["after"]["timelines"]) == 2
    # The installed environment ran it, not this checkout.
    logs = home / ".local" / "state" / "lipalign" / "logs"
    run_log = "".join(p.read_text() for p in logs.glob("lipalign-*.log"))
    assert str(prefix / "env-0.1.0-") in run_log

    # The user changes a setting; an upgrade to the next version keeps it.
    settings = home / ".config" / "lipalign" / "settings.json"
    settings.write_text(json.dumps({"settings": {"tolerance": "ebu-r37"}}))
    source = tmp_path / "next"
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.splitlines()
    for name in files:
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    manifest = json.loads((source / "manifest.json").read_text())
    manifest["version"] = "0.1.1"
    (source / "manifest.json").write_text(json.dumps(manifest, indent=2))
    for git in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "0.1.1"]):
        subprocess.run(["git", *git], cwd=source, check=True)  # a bundle is built from a checkout
    newer = build(tmp_path / "next-bundle", wheel_cache, source)
    done = install(newer, env)
    assert done.returncode == 0, done.stderr
    upgraded = json.loads((prefix / "receipt.json").read_text())
    assert upgraded["version"] == "0.1.1" and upgraded["environment"] != receipt["environment"]
    assert not Path(receipt["environment"]).exists()  # the old environment is gone
    assert json.loads(settings.read_text()) == {"settings": {"tolerance": "ebu-r37"}}
    config = json.loads((prefix / "launcher" / "LipAlign.config.json").read_text())
    assert config["version"] == "0.1.1" and config["python"].startswith(upgraded["environment"])
    # (run outside the checkout: `-m` would import this checkout's core from the working folder)
    version = subprocess.run([config["python"], "-m", "core.cli", "--version"], env=env, capture_output=True,
                             text=True, timeout=120, cwd=tmp_path)
    assert version.stdout.strip() == "lipalign 0.1.1"
    effective = subprocess.run([config["python"], "-m", "core.cli", "config", "--json"], env=env,
                               capture_output=True, text=True, timeout=120, cwd=tmp_path)
    tolerance = json.loads(effective.stdout)["settings"]["tolerance"]
    assert tolerance["value"] == "ebu-r37" and tolerance["source"] == "user"

    done = install(newer, env, "--uninstall")
    assert done.returncode == 0, done.stderr
    left = files_under(home)
    # The user's run logs and summaries stay, and matplotlib's font list, which any program importing matplotlib
    # (mediapipe does) writes to the user's own cache.
    assert left and all(name.startswith((".local/state/lipalign/logs/", ".cache/matplotlib/")) for name in left), left


def test_all_users_install_with_the_lua_entry_reaches_resolve_by_external_scripting(
        bundle, interview, tmp_path):
    root = tmp_path / "machine"
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home)
    done = install(bundle, env, "--all-users", "--root", str(root), "--entry", "lua")
    assert done.returncode == 0, done.stderr
    prefix = root / "opt" / "lipalign"
    scripts = root / "opt" / "resolve" / "Fusion" / "Scripts" / "Utility"
    studio = root / "etc" / "lipalign" / "studio.json"
    assert sorted(p.name for p in scripts.iterdir()) == ["Auto-align lips.lua", "Revert LipAlign changes.lua"]
    assert json.loads(studio.read_text()) == {"settings": {}, "locked": []}
    assert_owner_only(prefix)
    # The environment was made from a Python every account can run (not this run's, under root's home).
    environment = Path(json.loads((prefix / "receipt.json").read_text())["environment"])
    base = Path(next(line.split("=", 1)[1].strip() for line in (environment / "pyvenv.cfg").read_text().splitlines()
                     if line.startswith("home")))
    assert all(folder.stat().st_mode & stat.S_IXOTH for folder in (base, *base.parents)), base

    # Resolve with no Python runs the Lua entry; it starts the menu script with LipAlign's Python, which reaches
    # Resolve Studio by external scripting (here the fake, through a stand-in DaVinciResolveScript module).
    out = tmp_path / "external.json"
    lua_env = {**env, "PYTHONPATH": str(TESTS), "RESOLVE_SCRIPT_API": str(TESTS / "kit" / "scripting"),
               "FAKE_RESOLVE_CLIPS": json.dumps(interview), "FAKE_RESOLVE_OUT": str(out),
               "LIPALIGN_MODE": "headless", "LIPALIGN_STUDIO_CONFIG": str(studio)}
    play = subprocess.run([sys.executable, "-c", RUN_LUA, str(scripts / "Auto-align lips.lua")], env=lua_env,
                          capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert play.returncode == 0, play.stderr[-3000:]
    assert "refused" not in play.stdout, play.stdout
    result = json.loads(out.read_text())
    assert len(result["after"]["timelines"]) == 2, play.stdout[-3000:]
    assert result["after"]["timelines"][0] == result["before"]["timelines"][0]
    assert result["after"]["timelines"][1]["tracks"] != result["before"]["timelines"][0]["tracks"]  # slipped

    done = install(bundle, env, "--all-users", "--root", str(root), "--uninstall")
    assert done.returncode == 0, done.stderr
    left = files_under(root)
    assert left and all(name.startswith("var/log/lipalign/") for name in left), left


def small_bundle(path: Path, info: dict, files: dict[str, bytes], damage: str | None = None) -> Path:
    """A bundle of a few files, with a correct checksum list unless ``damage`` names a file to corrupt."""
    files = {**files, "BUNDLE.json": json.dumps(info).encode()}
    sums = "".join(f"{hashlib.sha256(v).hexdigest()}  {k}\n" for k, v in sorted(files.items()))
    if damage:
        files[damage] = files[damage] + b" "
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in {**files, "SHA256SUMS": sums.encode()}.items():
            archive.writestr(name, content)
    return path


INFO = {"schema": "lipalign.bundle/1", "version": "0.1.0", "platform": "linux-x86_64", "pythons": ["3.11", "3.12"],
        "lipalign_wheel": "lipalign-0.1.0-py3-none-any.whl"}


@pytest.mark.parametrize("case", ["damaged", "other platform", "not a zip"])
def test_a_bundle_that_does_not_fit_is_refused_before_anything_changes(case, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    zip_path = tmp_path / "bundle.zip"
    if case == "not a zip":
        zip_path.write_text("hello")
    else:
        info = {**INFO, "platform": "windows-x86_64"} if case == "other platform" else INFO
        damage = "requirements.lock" if case == "damaged" else None
        small_bundle(zip_path, info, {"requirements.lock": b"x==1\n"}, damage)
    done = subprocess.run([sys.executable, str(INSTALL), "--bundle", str(zip_path), "--quiet"], env=clean_env(home),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert {"damaged": "does not match its checksum", "other platform": "this machine needs the linux-x86_64",
            "not a zip": "not a readable LipAlign bundle"}[case] in done.stderr
    assert all(name.startswith(".local/state/lipalign/logs/") for name in files_under(home))


def test_a_failed_install_leaves_the_machine_as_it_was(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    missing = "absent-package==1.0 --hash=sha256:" + "0" * 64 + "\n"
    zip_path = small_bundle(tmp_path / "bundle.zip", INFO, {"requirements.lock": missing.encode()})
    done = subprocess.run([sys.executable, str(INSTALL), "--bundle", str(zip_path), "--quiet"], env=clean_env(home),
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    assert "install failed" in done.stderr
    assert all(name.startswith(".local/state/lipalign/logs/") for name in files_under(home)), files_under(home)
    assert not (home / ".local" / "share" / "lipalign").exists()


def lua_entry(tmp_path: Path, python: str, script: Path) -> Path:
    """The Lua launcher as the installer writes it into Resolve's Scripts folder."""
    text = (REPO / "plugin" / "menu" / "launcher.lua").read_text()
    entry = tmp_path / "Auto-align lips.lua"
    entry.write_text(text.replace("@PYTHON@", python).replace("@SCRIPT@", str(script)))
    return entry


def test_the_lua_entry_runs_the_menu_script_only_from_a_folder_no_one_else_can_change(tmp_path):
    launcher = tmp_path / "install" / "launcher"
    launcher.mkdir(parents=True)
    marker = tmp_path / "ran"
    script = launcher / "entry.sh"  # stands in for the menu script; /bin/sh stands in for LipAlign's Python
    script.write_text(f"echo ran > '{marker}'\n")
    for path in (tmp_path, *tmp_path.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    entry = lua_entry(tmp_path, "/bin/sh", script)

    def run_entry() -> str:
        done = subprocess.run([sys.executable, "-c", RUN_LUA, str(entry)], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert run_entry() == "" and marker.read_text() == "ran\n"
    marker.unlink()
    launcher.chmod(0o777)
    said = run_entry()
    assert said.startswith("LipAlign: refused to start LipAlign: ") and "launcher can be changed by other" in said
    assert not marker.exists()
    launcher.chmod(0o755)
    if os.geteuid() == 0:
        os.chown(script, 4321, 4321)
        assert "entry.sh belongs to another account (uid 4321)" in run_entry() and not marker.exists()


def test_the_lock_is_read_for_the_target_platform_not_the_builder():
    """The bundle of an Intel Mac, built here on Linux, takes the Intel Mac pins: markers judged and dropped."""
    sys.path.insert(0, str(REPO / "installer"))
    try:
        from build_bundle import entries_for
        from platforms import PLATFORMS
    finally:
        sys.path.remove(str(REPO / "installer"))

    def pins(platform: str, python: tuple[int, int]) -> list[str]:
        entries = entries_for(PLATFORMS[platform], python)
        assert all(";" not in entry.split("\\", 1)[0] for entry in entries)  # pip must not judge them again
        return [entry.split(" ", 1)[0] for entry in entries]

    intel, linux = pins("macos-x86_64", (3, 11)), pins("linux-x86_64", (3, 11))
    assert "jax==0.4.38" in intel and "jax==0.7.1" not in intel
    assert "jax==0.7.1" in linux and "jax==0.4.38" not in linux
    assert len(intel) == len(set(intel))
    # importlib-metadata is needed below Python 3.12 only
    assert any(pin.startswith("importlib-metadata==") for pin in linux)
    assert not any(pin.startswith("importlib-metadata==") for pin in pins("linux-x86_64", (3, 12)))
