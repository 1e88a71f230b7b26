"""``lipalign doctor``: every check passes on a prepared machine, and each fails (or warns) for its own reason.

The machine is faked in ``tmp_path``: a home folder (the per-user Scripts, cache and settings folders follow
``$HOME``), a DaVinci Resolve laid out as Blackmagic's installer leaves it (``$LIPALIGN_RESOLVE_DIR``), and a
LipAlign entry whose config names this test's Python. The host detection (:mod:`core.host`) is tested on the
same fake installs for all three platforms: it only reads files there, so it runs anywhere.
"""

from __future__ import annotations

import json
import os
import plistlib
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import core.decode
import core.face
from core import doctor, host
from core.cli import main
from core.errors import MediaError
from core.host import FREE, STUDIO, PythonForScripts
from core.locations import cache_folder, platform_family, scripts_folder
from core.version import MANIFEST, VERSION

REPO = Path(__file__).resolve().parent.parent
NAMES = ["DaVinci Resolve", "Scripts menu entry", "Python for Resolve", "LipAlign environment", "face model",
         "media decoding", "cache folder", "render folder", "configuration"]
POSIX_ONLY = pytest.mark.skipif(os.name == "nt", reason="fake interpreters are shell scripts")


def fake_resolve(folder: Path, family: str, version: str | None = "19.1.3", edition: str | None = STUDIO,
                 bundle: str = "DaVinci Resolve.app") -> Path:
    """A Resolve install as far as core.host reads it: the executable or bundle, and the shipped ReadMe.html
    (its title states the version, its "About" heading the edition; None leaves either out)."""
    title = f"<title>DaVinci Resolve {version}</title>" if version else "<title>DaVinci Resolve</title>"
    about = f"<h2>About {edition} {(version or '19').split('.')[0]}</h2>" if edition else ""
    readme = f"<html><head>{title}</head><body>{about}<p>Welcome to DaVinci Resolve.</p></body></html>"
    if family == "macos":
        contents = folder / bundle / "Contents"
        (contents / "Documents").mkdir(parents=True)
        info = {"CFBundleName": Path(bundle).stem, "CFBundleIdentifier": "com.blackmagic-design.DaVinciResolve"}
        if version:
            info["CFBundleShortVersionString"] = version
        (contents / "Info.plist").write_bytes(plistlib.dumps(info))
        (contents / "Documents" / "ReadMe.html").write_text(readme)
    elif family == "windows":
        (folder / "Documents").mkdir(parents=True)
        (folder / "Resolve.exe").write_bytes(b"MZ")
        (folder / "Documents" / "ReadMe.html").write_text(readme)
    else:
        (folder / "bin").mkdir(parents=True)
        (folder / "docs").mkdir()
        (folder / "bin" / "resolve").write_bytes(b"\x7fELF")
        (folder / "docs" / "ReadMe.html").write_text(readme)
    return folder


def fake_python(path: Path, answer: str) -> Path:
    """An executable that answers core.host's probe with ``answer`` ("MAJOR MINOR MICRO BITS")."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho '{answer}'\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@dataclass
class Machine:
    """The fake machine's places."""

    home: Path
    resolve: Path
    entry: Path
    config: Path
    user_settings: Path


MENU_SCRIPT = REPO / "plugin" / "menu" / "Auto-align lips.py"


def write_entry(folder: Path, kind: str = "python", python: str | None = None, beside: bool = True) -> Path:
    """A LipAlign entry in a Scripts folder and its LipAlign.config.json (beside it, or in a launcher folder the
    entry names), as the installer writes them; LipAlign's Python is a link to this one beside the install."""
    folder.mkdir(parents=True, exist_ok=True)
    config_folder = folder if beside else folder.parent / "launcher"
    config_folder.mkdir(exist_ok=True)
    if python is None:
        python = str(folder.parent / "python")
        Path(python).unlink(missing_ok=True)
        Path(python).symlink_to(sys.executable)
    config = config_folder / doctor.CONFIG_NAME
    config.write_text(json.dumps({"home": str(folder.parent), "python": python, "code": str(folder.parent),
                                  "scope": "user", "version": VERSION, "entry": kind}))
    menu = MENU_SCRIPT.read_text()
    (config_folder / "Auto-align lips.py").write_text(menu)
    entry = folder / doctor.ENTRY_FILES[kind]
    if kind == "python":  # as the installer patches the menu script's copy
        entry.write_text(menu if beside else menu.replace("CONFIG_FOLDER = None",
                                                          f"CONFIG_FOLDER = {str(config_folder)!r}", 1))
    else:
        entry.write_text(f"local PYTHON = [[{python}]]\nlocal SCRIPT = [[{config_folder / 'Auto-align lips.py'}]]\n")
    return config


@pytest.fixture
def machine(tmp_path, monkeypatch) -> Machine:
    """A machine where everything LipAlign needs is in place, in ``tmp_path``."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for variable in ("XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "LIPALIGN_CACHE",
                     "LIPALIGN_LOG_DIR", "PYTHON3HOME", "FUSION_PYTHON3_HOME"):
        monkeypatch.delenv(variable, raising=False)
    user_settings = tmp_path / "config" / "settings.json"
    monkeypatch.setenv("LIPALIGN_STUDIO_CONFIG", str(tmp_path / "config" / "studio.json"))
    monkeypatch.setenv("LIPALIGN_USER_CONFIG", str(user_settings))
    family = platform_family()
    resolve = fake_resolve(tmp_path / "resolve", family)
    monkeypatch.setenv(host.RESOLVE_DIR_ENV, str(resolve))
    # Resolve's Python for menu scripts: Linux 21.x's own ResolvePython, PYTHON3HOME on macOS; both this Python.
    prefix = resolve / "ResolvePython" if family == "linux" else tmp_path / "python3home"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "python3").symlink_to(sys.executable)
    if family == "macos":
        monkeypatch.setenv("PYTHON3HOME", str(prefix))
    config = write_entry(scripts_folder("user"))
    return Machine(home, resolve, scripts_folder("user") / doctor.ENTRY_FILES["python"], config, user_settings)


def by_name(checks: list[doctor.Check]) -> dict[str, doctor.Check]:
    return {check.name: check for check in checks}


def no_python_for_resolve(monkeypatch) -> None:
    monkeypatch.setattr(host, "menu_script_python", lambda *args, **kwargs: PythonForScripts(
        None, None, False, "no Python 3 found", "/usr/bin/python3 (system python3)"))


# -- the whole run ---------------------------------------------------------------------------------------------


def test_every_check_passes_on_a_prepared_machine(machine, capsys):
    checks = doctor.run_checks()
    assert [check.name for check in checks] == NAMES
    assert all(check.status == "pass" for check in checks), doctor.format_checks(checks)
    found = by_name(checks)
    assert "DaVinci Resolve Studio 19.1.3" in found["DaVinci Resolve"].detail
    assert str(machine.config) in found["Scripts menu entry"].detail
    assert str(cache_folder() / "renders") in found["render folder"].detail
    assert main(["doctor"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(NAMES) and all(line.startswith("pass  ") for line in lines)


def test_the_real_command_prints_a_doctor_record(machine):
    # The fake machine lives in the environment, which the subprocess inherits.
    done = subprocess.run([sys.executable, "-m", "core.cli", "doctor", "--json"], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    record = json.loads(done.stdout)
    assert record["schema"] == doctor.SCHEMA == "lipalign.doctor/1"
    assert record["ok"] is True and record["lipalign_version"] == VERSION
    assert [check["name"] for check in record["checks"]] == NAMES
    assert {tuple(check) for check in record["checks"]} == {("name", "status", "detail", "fix")}
    assert {check["status"] for check in record["checks"]} == {"pass"}


def test_a_failing_check_exits_1_and_prints_its_fix(machine, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("LIPALIGN_CACHE", str(tmp_path / "a-file" / "cache"))
    (tmp_path / "a-file").write_text("not a folder")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out.splitlines()
    failed = next(i for i, line in enumerate(out) if line.startswith("fail  cache folder"))
    assert out[failed + 1].strip().startswith("fix: make ") and "LIPALIGN_CACHE" in out[failed + 1]


# -- DaVinci Resolve -------------------------------------------------------------------------------------------


def test_without_resolve_the_resolve_side_only_warns(machine, tmp_path, monkeypatch):
    monkeypatch.setenv(host.RESOLVE_DIR_ENV, str(tmp_path / "nothing-here"))
    machine.entry.unlink()
    no_python_for_resolve(monkeypatch)
    checks = by_name(doctor.run_checks())
    assert checks["DaVinci Resolve"].status == "warn" and "not found" in checks["DaVinci Resolve"].detail
    assert checks["Scripts menu entry"].status == "warn" and "run the LipAlign installer" in \
        checks["Scripts menu entry"].fix
    assert checks["Python for Resolve"].status == "warn"
    assert doctor.doctor_record(list(checks.values()))["ok"] is True


def test_a_resolve_older_than_the_manifest_minimum_fails(tmp_path, monkeypatch):
    monkeypatch.setenv(host.RESOLVE_DIR_ENV, str(fake_resolve(tmp_path / "old", platform_family(), version="18.1.4")))
    check = doctor.check_resolve(host.find_resolve())
    minimum, recommended = MANIFEST["resolve"]["minimum_version"], MANIFEST["resolve"]["recommended_version"]
    assert check.status == "fail" and f"needs {minimum} or later" in check.detail
    assert check.fix == f"update DaVinci Resolve to {recommended} or later"


def test_resolve_of_unknown_version_warns(tmp_path, monkeypatch):
    monkeypatch.setenv(host.RESOLVE_DIR_ENV, str(fake_resolve(tmp_path / "resolve", "linux", version=None)))
    check = doctor.check_resolve(host.find_resolve("linux"))
    assert check.status == "warn" and "version unknown" in check.detail and "Help > About" in check.fix


# -- the Scripts menu entry ------------------------------------------------------------------------------------


def test_no_entry_fails(machine):
    machine.entry.unlink()
    check = doctor.check_menu_entry(doctor.find_menu_entries(), host.find_resolve())
    assert check.status == "fail" and "no Auto-align lips.py or Auto-align lips.lua" in check.detail
    assert check.fix.startswith("run the LipAlign installer")


def test_an_entry_naming_a_missing_python_fails(machine, tmp_path):
    write_entry(scripts_folder("user"), python=str(tmp_path / "gone" / "python"))
    check = doctor.check_menu_entry(doctor.find_menu_entries(), host.find_resolve())
    assert check.status == "fail" and str(tmp_path / "gone" / "python") in check.detail
    assert "installer again" in check.fix


@pytest.mark.parametrize("damage", ["missing", "not JSON", "no python"])
def test_an_entry_without_a_usable_config_fails(machine, damage):
    if damage == "missing":
        machine.config.unlink()
    elif damage == "not JSON":
        machine.config.write_text("{")
    else:
        machine.config.write_text(json.dumps({"entry": "python"}))
    check = doctor.check_menu_entry(doctor.find_menu_entries(), host.find_resolve())
    assert check.status == "fail" and str(machine.config) in check.detail


def test_an_entry_that_would_refuse_to_start_lipalign_fails(machine):
    machine.config.parent.chmod(0o777)  # the folder of the entry's configuration: anyone may swap it
    try:
        check = doctor.check_menu_entry(doctor.find_menu_entries(), host.find_resolve())
    finally:
        machine.config.parent.chmod(0o755)
    assert check.status == "fail" and "the entry refuses to start LipAlign" in check.detail
    assert "can be changed by other accounts (mode 777)" in check.detail


@pytest.mark.parametrize("kind", ["python", "lua"])
def test_the_config_is_found_where_the_installed_entry_names_it(machine, kind):
    machine.entry.unlink()
    machine.config.unlink()
    config = write_entry(scripts_folder("user"), kind=kind, beside=False)
    entries = doctor.find_menu_entries()
    assert [(entry.kind, entry.config_path, entry.problem) for entry in entries] == [(kind, config, None)]
    assert doctor.check_menu_entry(entries, host.find_resolve()).status == "pass"


def test_an_entry_of_another_version_warns(machine):
    machine.config.write_text(json.dumps({**json.loads(machine.config.read_text()), "version": "0.0.1"}))
    check = doctor.check_menu_entry(doctor.find_menu_entries(), host.find_resolve())
    assert check.status == "warn" and f"this LipAlign is {VERSION}" in check.detail


# -- the Python Resolve runs the entry with --------------------------------------------------------------------


def test_no_python_for_a_python_entry_fails_with_the_platform_fix(machine, monkeypatch):
    no_python_for_resolve(monkeypatch)
    check = by_name(doctor.run_checks())["Python for Resolve"]
    assert check.status == "fail" and "no Python 3 found" in check.detail
    assert "--entry lua" in check.fix
    assert "launchctl setenv PYTHON3HOME" in doctor._python_fix("darwin")
    assert "python.org" in doctor._python_fix("win32") and "FUSION_PYTHON3_HOME" in doctor._python_fix("win32")
    assert "package manager" in doctor._python_fix("linux")


def test_a_lua_entry_needs_no_python_but_needs_studio(machine, tmp_path, monkeypatch):
    no_python_for_resolve(monkeypatch)
    machine.entry.unlink()
    write_entry(scripts_folder("user"), kind="lua")
    assert by_name(doctor.run_checks())["Python for Resolve"].status == "pass"
    free = fake_resolve(tmp_path / "free", platform_family(), version="19.1.3", edition=FREE)
    monkeypatch.setenv(host.RESOLVE_DIR_ENV, str(free))
    check = doctor.check_resolve_python(host.menu_script_python(), doctor.find_menu_entries(), host.find_resolve())
    assert check.status == "fail" and "external scripting" in check.detail and "Studio" in check.fix


def test_free_21_1_runs_no_python_entry(machine, tmp_path, monkeypatch):
    free = fake_resolve(tmp_path / "free", platform_family(), version="21.1.0", edition=FREE)
    monkeypatch.setenv(host.RESOLVE_DIR_ENV, str(free))
    check = by_name(doctor.run_checks())["Python for Resolve"]
    assert check.status == "fail" and "moved to Studio" in check.detail


# -- LipAlign's environment ------------------------------------------------------------------------------------


def test_a_module_that_does_not_import_fails(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy", None)  # "import scipy" now raises ImportError
    check = doctor.check_imports()
    assert check.status == "fail" and "cannot import scipy (ModuleNotFoundError" in check.detail
    assert "installer" in check.fix


def test_a_face_model_that_does_not_load_fails(monkeypatch):
    class Broken:
        def __init__(self) -> None:
            raise RuntimeError("face_landmark.tflite: not found")

    monkeypatch.setattr(core.face, "FaceMeshTracker", Broken)
    check = doctor.check_face_model()
    assert check.status == "fail" and "face_landmark.tflite" in check.detail


def test_a_clip_that_does_not_decode_fails(monkeypatch):
    def broken(path, rate=16000):
        raise MediaError(f"{path}: the audio stream has no samples")

    monkeypatch.setattr(core.decode, "decode_audio", broken)
    check = doctor.check_decoding()
    assert check.status == "fail" and "no samples" in check.detail


# -- folders and configuration ---------------------------------------------------------------------------------


def test_a_cache_folder_that_cannot_be_written_fails(machine, tmp_path, monkeypatch):
    if os.geteuid() == 0:  # root writes through any mode: make the folder impossible instead
        (tmp_path / "a-file").write_text("not a folder")
        folder = tmp_path / "a-file" / "cache"
    else:
        folder = tmp_path / "read-only"
        folder.mkdir(mode=0o500)
    monkeypatch.setenv("LIPALIGN_CACHE", str(folder))
    try:
        check = doctor.check_cache_folder()
    finally:
        if folder.is_dir():
            folder.chmod(0o700)  # so that pytest can remove it
    assert check.status == "fail" and str(folder) in check.detail and "LIPALIGN_CACHE" in check.fix
    assert not [p for p in folder.parent.rglob(".lipalign-doctor-*")]


def test_the_render_folder_follows_the_settings(machine, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    machine.user_settings.parent.mkdir(parents=True, exist_ok=True)
    machine.user_settings.write_text(json.dumps({"settings": {"render_folder": str(tmp_path / "a-file" / "r")}}))
    check = doctor.check_render_folder()
    assert check.status == "fail" and str(tmp_path / "a-file" / "r") in check.detail and "render_folder" in check.fix
    machine.user_settings.write_text(json.dumps({"settings": {"render_folder": str(tmp_path / "renders")}}))
    assert doctor.check_render_folder().status == "pass" and (tmp_path / "renders").is_dir()


def test_a_bad_config_fails_naming_the_file(machine):
    machine.user_settings.parent.mkdir(parents=True, exist_ok=True)
    machine.user_settings.write_text("{not json")
    checks = by_name(doctor.run_checks())
    assert checks["configuration"].status == "fail" and str(machine.user_settings) in checks["configuration"].detail
    assert checks["configuration"].fix == f"correct or remove {machine.user_settings}"
    # The render folder is still checked: the default one, saying why.
    assert checks["render folder"].status == "pass" and "does not load" in checks["render folder"].detail


# -- core.host: Resolve's installation -------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["macos", "windows", "linux"])
@pytest.mark.parametrize("edition", [STUDIO, FREE, None])
def test_find_resolve_reads_version_and_edition(family, edition, tmp_path, monkeypatch):
    platform = {"macos": "darwin", "windows": "win32", "linux": "linux"}[family]
    folder = fake_resolve(tmp_path / "DaVinci Resolve", family, version="19.1.3", edition=edition)
    monkeypatch.setenv(host.RESOLVE_DIR_ENV, str(folder))
    found = host.find_resolve(platform)
    assert found is not None and (found.version, found.edition) == ("19.1.3", edition)
    assert found.folder == (folder / "DaVinci Resolve.app" if family == "macos" else folder)
    assert ("edition unknown" in found.label) == (edition is None)


def test_the_app_stores_studio_bundle_is_studio(tmp_path, monkeypatch):
    folder = fake_resolve(tmp_path / "Applications", "macos", edition=None, bundle="DaVinci Resolve Studio.app")
    monkeypatch.setenv(host.RESOLVE_DIR_ENV, str(folder))
    found = host.find_resolve("darwin")
    assert found.edition == STUDIO and found.source == str(found.folder / "Contents" / "Info.plist")


def test_linux_version_from_welcome_txt_and_default_folder_under_root(tmp_path, monkeypatch):
    monkeypatch.delenv(host.RESOLVE_DIR_ENV, raising=False)
    assert host.find_resolve("linux", root=tmp_path) is None
    folder = tmp_path / "opt" / "resolve"
    (folder / "bin").mkdir(parents=True)
    (folder / "docs").mkdir()
    (folder / "bin" / "resolve").write_bytes(b"")
    (folder / "docs" / "Welcome.txt").write_text("Welcome to DaVinci Resolve 18.6.4.\n")
    found = host.find_resolve("linux", root=tmp_path)
    assert (found.folder, found.version, found.edition) == (folder, "18.6.4", None)


def test_resolve_editions_are_the_manifests():
    assert set(host.EDITIONS) == set(MANIFEST["resolve"]["editions"])


# -- core.host: the Python for menu scripts --------------------------------------------------------------------


@POSIX_ONLY
@pytest.mark.parametrize(("answer", "usable", "reason"), [
    ("3 9 1 64", True, "Python 3.9.1, 64-bit"),
    ("3 5 2 64", False, "older than 3.6"),
    ("3 11 0 32", False, "32-bit"),
    ("not a python", False, "does not answer"),
])
def test_resolves_bundled_python_is_judged(answer, usable, reason, tmp_path, monkeypatch):
    resolve = fake_resolve(tmp_path / "resolve", "linux")
    fake_python(resolve / "ResolvePython" / "bin" / "python3", answer)
    monkeypatch.setenv(host.RESOLVE_DIR_ENV, str(resolve))
    found = host.menu_script_python("linux", root=tmp_path)
    assert found.usable is usable and reason in found.reason and found.source == "Resolve's bundled ResolvePython"


def test_resolves_bundled_python_without_an_interpreter_is_taken(tmp_path, monkeypatch):
    resolve = fake_resolve(tmp_path / "resolve", "linux")
    (resolve / "ResolvePython" / "lib").mkdir(parents=True)
    monkeypatch.setenv(host.RESOLVE_DIR_ENV, str(resolve))
    found = host.menu_script_python("linux", root=tmp_path)
    assert (found.path, found.version, found.usable) == (resolve / "ResolvePython", None, True)


@POSIX_ONLY
def test_the_system_python3_and_none(tmp_path, monkeypatch):
    monkeypatch.delenv(host.RESOLVE_DIR_ENV, raising=False)
    none = host.menu_script_python("linux", root=tmp_path)
    assert (none.path, none.usable) == (None, False) and str(tmp_path / "usr" / "bin" / "python3") in none.source
    fake_python(tmp_path / "usr" / "local" / "bin" / "python3", "3 12 1 64")
    found = host.menu_script_python("linux", root=tmp_path)
    assert found.usable and found.version == "3.12.1" and found.source == "system python3"


@POSIX_ONLY
@pytest.mark.skipif(sys.platform == "darwin", reason="on a Mac launchctl's PYTHON3HOME comes first")
def test_macos_python3home_then_usr_local(tmp_path, monkeypatch):
    monkeypatch.delenv("PYTHON3HOME", raising=False)
    fake_python(tmp_path / "usr" / "local" / "bin" / "python3", "3 10 2 64")
    assert host.menu_script_python("darwin", root=tmp_path).version == "3.10.2"
    fake_python(tmp_path / "home" / "bin" / "python3", "3 12 0 64")
    monkeypatch.setenv("PYTHON3HOME", str(tmp_path / "home"))
    assert host.menu_script_python("darwin", root=tmp_path).version == "3.12.0"


@POSIX_ONLY
@pytest.mark.skipif(sys.platform == "win32", reason="the registry would be read too")
def test_windows_fusion_python3_home(tmp_path, monkeypatch):
    monkeypatch.delenv("FUSION_PYTHON3_HOME", raising=False)
    assert host.menu_script_python("win32").path is None
    fake_python(tmp_path / "py" / "python.exe", "3 11 9 64")
    monkeypatch.setenv("FUSION_PYTHON3_HOME", str(tmp_path / "py"))
    found = host.menu_script_python("win32")
    assert found.usable and found.source == "FUSION_PYTHON3_HOME"
