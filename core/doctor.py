"""The checks of ``lipalign doctor``: what a support person asks about when "nothing happens after the click".

Each check is a small function returning a :class:`Check`: ``"pass"``, ``"warn"`` (worth knowing, LipAlign still
works) or ``"fail"`` (something LipAlign needs is broken), with the fix in one line. The Resolve side (the menu
entry, the Python Resolve runs it with) is needed only where DaVinci Resolve is installed: without Resolve its
failures are warnings, because the command line works on its own.

Nothing here imports :mod:`plugin` at module level (core never does); the environment check imports the panel's
package by name, as a test that it is there.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import re
import runpy
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core import host
from core.host import FREE, PythonForScripts, ResolveInstall, version_tuple
from core.locations import SCOPES, cache_folder, platform_family, scripts_folder, studio_config_path, user_config_path
from core.version import MANIFEST, VERSION

__all__ = ["CONFIG_NAME", "ENTRY_FILES", "FREE_WITHOUT_PYTHON", "REQUIRED_MODULES", "SCHEMA", "STATUSES", "Check",
           "MenuEntry", "check_cache_folder", "check_config", "check_decoding", "check_face_model", "check_imports",
           "check_menu_entry", "check_render_folder", "check_resolve", "check_resolve_python", "doctor_record",
           "find_menu_entries", "format_checks", "run_checks"]

SCHEMA = "lipalign.doctor/1"
STATUSES = ("pass", "warn", "fail")
CONFIG_NAME = "LipAlign.config.json"  # the entry's configuration: where the entry names, else beside it
# Resolve lists a script under its file name, so the entry is named after the manifest's menu label.
ENTRY_FILES = {"python": f"{MANIFEST['menu']['label']}.py", "lua": f"{MANIFEST['menu']['label']}.lua"}
# "We have moved the ability to script in Python to the Studio version" (Resolve 21.1 release notes, quoted in
# ynput/ayon-resolve PR #111; .py scripts no longer listed on free 21.1: davinci-resolve-mcp issues #203, #219).
FREE_WITHOUT_PYTHON = (21, 1)
# What LipAlign's own environment must import: the engine, the panel the menu opens, and the native libraries
# (QtWidgets rather than the PySide6 package alone, which loads none of Qt's shared libraries).
REQUIRED_MODULES = ("core", "plugin.panel", "numpy", "cv2", "mediapipe", "av", "PySide6.QtWidgets", "scipy")
# Where an installed entry names its configuration (see _config_of).
_PY_CONFIG_FOLDER = re.compile(r"^CONFIG_FOLDER = .*$", re.MULTILINE)
_LUA_SCRIPT = re.compile(r"^local SCRIPT = \[\[(.*)\]\]", re.MULTILINE)
_RERUN_INSTALLER = "run the LipAlign installer again, then restart DaVinci Resolve"


@dataclass(frozen=True)
class Check:
    """One line of the doctor's answer.

    Attributes
    ----------
    name : str
        What was checked, a few words.
    status : {"pass", "warn", "fail"}
        ``"fail"`` only for something LipAlign needs; it makes ``lipalign doctor`` exit with 1.
    detail : str
        What was found, naming the files and versions.
    fix : str
        What to do about it; empty when passing.
    """

    name: str
    status: str
    detail: str
    fix: str = ""

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"check status must be one of {', '.join(STATUSES)}, not {self.status!r}")


@dataclass(frozen=True)
class MenuEntry:
    """A LipAlign entry in one of Resolve's Scripts folders.

    Attributes
    ----------
    folder : Path
        The Scripts folder it is in.
    scope : {"user", "machine"}
        Whose Scripts folder that is.
    kind : {"python", "lua"}
        Which entry Resolve runs: the config's ``"entry"``, else the ``.py`` when present.
    config_path : Path
        The LipAlign.config.json the entry reads (beside it, or where the entry names).
    config : dict or None
        That configuration, when it reads as a JSON object.
    problem : str or None
        Why this entry cannot start LipAlign; None when it can.
    """

    folder: Path
    scope: str
    kind: str
    config_path: Path
    config: dict[str, Any] | None
    problem: str | None


def _config_of(entry: Path, kind: str) -> Path:
    """The LipAlign.config.json an entry reads, found as the entry finds it: the Python entry in its
    ``CONFIG_FOLDER`` (the installer writes the install's launcher folder there) and else beside itself; the Lua
    entry beside the menu script its ``SCRIPT`` names. The entry is read as text, never run."""
    beside = entry.parent / CONFIG_NAME
    try:
        text = entry.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return beside
    match = (_PY_CONFIG_FOLDER if kind == "python" else _LUA_SCRIPT).search(text)
    if match is None:
        return beside
    try:  # the Python line parsed as Python, so that a trailing comment is no part of the value
        named = ast.literal_eval(ast.parse(match.group(0)).body[0].value) if kind == "python" else match.group(1)
    except (ValueError, SyntaxError):
        return beside
    if not isinstance(named, str) or not Path(named).is_absolute():  # None, or a placeholder left unfilled
        return beside
    return Path(named) / CONFIG_NAME if kind == "python" else Path(named).parent / CONFIG_NAME


def _read_entry(folder: Path, scope: str, present: list[str]) -> MenuEntry:
    """The entry of ``folder`` whose files ``present`` (entry kinds) were found, with what stops it, if anything."""
    default_kind = "python" if "python" in present else "lua"
    config_path = _config_of(folder / ENTRY_FILES[default_kind], default_kind)

    def entry(kind: str, config: dict[str, Any] | None, problem: str | None) -> MenuEntry:
        return MenuEntry(folder, scope, kind, config_path, config, problem)

    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return entry(default_kind, None, f"{config_path} is missing")
    except (OSError, ValueError) as exc:
        return entry(default_kind, None, f"{config_path} does not read as JSON ({exc})")
    if not isinstance(config, dict):
        return entry(default_kind, None, f"{config_path} is not a JSON object")
    kind = config.get("entry") or default_kind
    if kind not in ENTRY_FILES:
        return entry(default_kind, config, f"{config_path} names an unknown entry {kind!r}")
    if kind not in present:
        return entry(kind, config, f"{config_path} names the {kind} entry, but {folder / ENTRY_FILES[kind]} "
                     "is missing")
    python = config.get("python")
    if not python:
        return entry(kind, config, f"{config_path} names no Python for LipAlign")
    if not Path(python).is_file():
        return entry(kind, config, f"LipAlign's Python {python}, named by {config_path}, is missing")
    return entry(kind, config, _refusal(config_path, config))


def _refusal(config_path: Path, config: dict[str, Any]) -> str | None:
    """Why the entry would refuse to start LipAlign (a file another account could change), by the entry's own rule:
    ``unsafe_reason`` of the menu script beside the config, which the Lua entry's check mirrors."""
    script = config_path.parent / ENTRY_FILES["python"]
    if not script.is_file():
        return None
    unsafe_reason = runpy.run_path(str(script), run_name="lipalign_menu")["unsafe_reason"]
    for path in (str(config_path), config["python"], config.get("code")):
        reason = path and unsafe_reason(path)
        if reason:
            return f"the entry refuses to start LipAlign: {reason}"
    return None


def find_menu_entries() -> list[MenuEntry]:
    """LipAlign's entries in the per-user and the machine-wide Scripts folders (Resolve lists both)."""
    entries = []
    for scope in SCOPES:
        folder = scripts_folder(scope)
        present = [kind for kind, name in ENTRY_FILES.items() if (folder / name).is_file()]
        if present:
            entries.append(_read_entry(folder, scope, present))
    return entries


def _needed(check: Check, resolve: ResolveInstall | None) -> Check:
    """A Resolve-side failure is only a warning where Resolve is not installed: the command line still works."""
    if check.status != "fail" or resolve is not None:
        return check
    return Check(check.name, "warn", f"{check.detail} (DaVinci Resolve was not found, so only the command line "
                 "needs to work here)", check.fix)


def check_resolve(resolve: ResolveInstall | None) -> Check:
    """DaVinci Resolve found, its version and edition, against the manifest's ``resolve.minimum_version``."""
    minimum = MANIFEST["resolve"]["minimum_version"]
    recommended = MANIFEST["resolve"]["recommended_version"]
    if resolve is None:
        return Check("DaVinci Resolve", "warn", f"not found (set {host.RESOLVE_DIR_ENV} if it is installed "
                     "elsewhere); the command line works without it",
                     f"install DaVinci Resolve {minimum} or later to use LipAlign from Workspace > Scripts")
    detail = f"{resolve.label} at {resolve.folder} (read from {resolve.source})"
    if resolve.version is None:
        return Check("DaVinci Resolve", "warn", detail,
                     f"check Help > About DaVinci Resolve: LipAlign needs {minimum} or later")
    if version_tuple(resolve.version) < version_tuple(minimum):
        return Check("DaVinci Resolve", "fail", f"{detail}; LipAlign needs {minimum} or later",
                     f"update DaVinci Resolve to {recommended} or later")
    if version_tuple(resolve.version) < version_tuple(recommended):
        detail += f"; {recommended} or later is recommended"
    return Check("DaVinci Resolve", "pass", detail)


def check_menu_entry(entries: list[MenuEntry], resolve: ResolveInstall | None) -> Check:
    """The LipAlign entry in a Scripts folder, with its config and the Python that config names."""
    if not entries:
        folders = " or ".join(str(scripts_folder(scope)) for scope in SCOPES)
        return _needed(Check("Scripts menu entry", "fail", f"no {' or '.join(ENTRY_FILES.values())} in {folders}",
                             "run the LipAlign installer, then restart DaVinci Resolve"), resolve)
    broken = [entry for entry in entries if entry.problem]
    if broken:  # Resolve lists every entry it finds, so a broken one is clicked as often as a good one
        return _needed(Check("Scripts menu entry", "fail", "; ".join(entry.problem for entry in broken),
                             _RERUN_INSTALLER), resolve)
    described = []
    for entry in entries:
        installed = entry.config.get("version") or "unknown version"
        described.append(f"{entry.kind} entry for {entry.scope} in {entry.folder} (LipAlign {installed}, its "
                         f"Python {entry.config['python']}, config {entry.config_path})")
    stale = {entry.config.get("version") for entry in entries} - {VERSION, None}
    if stale:
        return Check("Scripts menu entry", "warn", f"{'; '.join(described)}; this LipAlign is {VERSION}",
                     f"{_RERUN_INSTALLER}, so the entry and this LipAlign match")
    return Check("Scripts menu entry", "pass", "; ".join(described))


def _python_fix(platform: str | None = None) -> str:
    """How to give Resolve a Python 3 for menu scripts on this platform (resolve-api.md section 2)."""
    major, minor = host.menu_script_minimum()
    lua = "; or, with DaVinci Resolve Studio, reinstall LipAlign with --entry lua"
    family = platform_family(platform)
    if family == "macos":
        return ("install Python 3 from python.org (it adds /usr/local/bin/python3), or run "
                f"`launchctl setenv PYTHON3HOME \"{sys.base_prefix}\"`, then restart DaVinci Resolve{lua}")
    if family == "windows":
        return (f"install Python 3 64-bit ({major}.{minor} or later) from python.org, or set FUSION_PYTHON3_HOME "
                f"to a 64-bit Python's folder, then restart DaVinci Resolve{lua}")
    return (f"install python3 (64-bit, {major}.{minor} or later) with the system's package manager, then restart "
            f"DaVinci Resolve{lua}")


def check_resolve_python(python: PythonForScripts, entries: list[MenuEntry], resolve: ResolveInstall | None,
                         platform: str | None = None) -> Check:
    """The Python 3 Resolve runs a ``.py`` entry with, and whether this edition runs the installed entry at all.

    A Lua entry needs no Python in Resolve, but it reaches Resolve by external scripting, which only Studio allows
    (resolve-api.md section 2). Free 21.1 and later run no Python menu scripts (:data:`FREE_WITHOUT_PYTHON`).
    """
    found = f"{python.reason} at {python.path} ({python.source})" if python.path else \
        f"{python.reason}; looked at {python.source}"
    free = resolve is not None and resolve.edition == FREE
    if entries and all(entry.kind == "lua" for entry in entries):
        if free:
            return Check("Python for Resolve", "fail", f"the Lua entry reaches Resolve by external scripting, which "
                         f"{resolve.label} refuses", "use DaVinci Resolve Studio, or (before 21.1) give Resolve a "
                         "Python 3 and reinstall LipAlign with --entry python")
        return Check("Python for Resolve", "pass", "the Lua entry needs no Python in Resolve, but needs Preferences > "
                     f"System > General > External scripting using: Local ({found})")
    if free and version_tuple(resolve.version) >= FREE_WITHOUT_PYTHON:
        return Check("Python for Resolve", "fail", f"{resolve.label} runs no Python menu scripts (Python scripting "
                     "moved to Studio in 21.1)", "use DaVinci Resolve Studio: the Lua entry needs it too")
    if python.usable:
        return Check("Python for Resolve", "pass", found)
    return _needed(Check("Python for Resolve", "fail", f"{found}: Resolve will not list or run the Python entry",
                         _python_fix(platform)), resolve)


def check_imports() -> Check:
    """LipAlign's environment imports everything the analysis and the panel need."""
    failed = []
    for name in REQUIRED_MODULES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a broken native library raises OSError or worse, not only ImportError
            failed.append(f"{name} ({type(exc).__name__}: {exc})")
    if failed:
        return Check("LipAlign environment", "fail", f"{sys.executable} cannot import " + "; ".join(failed),
                     "run the LipAlign installer again to rebuild its environment")
    return Check("LipAlign environment", "pass", f"{sys.executable} (Python {sys.version.split()[0]}) imports "
                 + ", ".join(REQUIRED_MODULES))


def check_face_model() -> Check:
    """The face landmark model bundled with MediaPipe loads, as the analysis creates it (:mod:`core.face`)."""
    try:
        from core.face import FaceMeshTracker, quiet_native_stderr

        with quiet_native_stderr():
            FaceMeshTracker().close()
    except Exception as exc:  # whatever MediaPipe's native side raises, the answer is the same: it does not load
        return Check("face model", "fail", f"MediaPipe Face Mesh does not load ({type(exc).__name__}: {exc})",
                     "run the LipAlign installer again to rebuild its environment")
    return Check("face model", "pass", "MediaPipe Face Mesh loads")


def check_decoding() -> Check:
    """PyAV's FFmpeg writes and decodes a generated clip: a one-second synthetic talking head (:mod:`core.synth`)."""
    try:
        import av

        from core.decode import decode_audio, iter_video_frames
        from core.synth import synthesize

        with tempfile.TemporaryDirectory(prefix="lipalign-doctor-") as scratch:
            clip = Path(scratch) / "doctor.mp4"
            truth = synthesize(clip, duration_s=1.0)
            sound = decode_audio(clip)
            frames = sum(1 for _ in iter_video_frames(clip))
    except Exception as exc:  # FFmpeg's errors, a missing encoder, a full temporary folder: all mean "cannot decode"
        return Check("media decoding", "fail", f"a generated clip does not encode and decode ({type(exc).__name__}: "
                     f"{exc})", "run the LipAlign installer again to rebuild its environment")
    if frames == 0:
        return Check("media decoding", "fail", "a generated clip decodes to no pictures",
                     "run the LipAlign installer again to rebuild its environment")
    return Check("media decoding", "pass", f"PyAV {av.__version__} decodes a generated {truth.video_codec}/"
                 f"{truth.audio_codec} clip: {frames} frames, {sound.duration_s:.2f} s of sound")


def _write_probe(folder: Path) -> str | None:
    """Create ``folder`` if missing, write and delete a file in it; the error, or None when that worked."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".lipalign-doctor-", dir=folder)
        try:
            os.write(handle, b"probe")
        finally:
            os.close(handle)
            os.unlink(probe)
    except OSError as exc:
        return f"{type(exc).__name__}: {exc.strerror or exc}"
    return None


def check_cache_folder() -> Check:
    """The per-user cache folder can be created and written."""
    folder = cache_folder()
    error = _write_probe(folder)
    if error:
        return Check("cache folder", "fail", f"{folder} is not writable ({error})",
                     f"make {folder} writable for this account, or set LIPALIGN_CACHE to a folder that is")
    return Check("cache folder", "pass", f"{folder} is writable")


def check_render_folder() -> Check:
    """The folder corrected audio is rendered to (the settings' ``render_folder``, else the cache's ``renders``)."""
    from core.settings import SettingsError, load_settings

    note = ""
    try:
        setting = load_settings().get("render_folder")
        chosen = setting.value if setting is not None else None
    except SettingsError:  # reported by the config check; the default folder is still worth checking
        chosen, note = None, "; the configuration does not load, so this is the default folder"
    folder = Path(chosen).expanduser() if chosen else cache_folder() / "renders"
    error = _write_probe(folder)
    if error:
        return Check("render folder", "fail", f"{folder} is not writable ({error}){note}",
                     f"make {folder} writable for this account, or set render_folder (lipalign config) to a "
                     "folder that is")
    return Check("render folder", "pass", f"{folder} is writable{note}")


def check_config() -> Check:
    """The studio and user configuration files load."""
    from core.settings import SettingsError, load_settings

    files = (studio_config_path(), user_config_path())
    try:
        load_settings()
    except SettingsError as exc:
        message = str(exc)
        named = [path for path in files if str(path) in message] or [path for path in files if path.exists()]
        return Check("configuration", "fail", message,
                     "correct or remove " + " or ".join(str(path) for path in named or files))
    described = ", ".join(f"{path} ({'read' if path.exists() else 'absent: defaults'})" for path in files)
    return Check("configuration", "pass", described)


def run_checks() -> list[Check]:
    """Every check, in the order a support person would go through them."""
    resolve = host.find_resolve()
    entries = find_menu_entries()
    return [check_resolve(resolve), check_menu_entry(entries, resolve),
            check_resolve_python(host.menu_script_python(), entries, resolve),
            check_imports(), check_face_model(), check_decoding(),
            check_cache_folder(), check_render_folder(), check_config()]


def format_checks(checks: list[Check]) -> str:
    """One line per check (status, name, detail), and an indented "fix:" line under each that does not pass."""
    width = max(len(check.name) for check in checks)
    lines = []
    for check in checks:
        lines.append(f"{check.status:<4}  {check.name:<{width}}  {check.detail}")
        if check.status != "pass" and check.fix:
            lines.append(f"{'':<6}fix: {check.fix}")
    return "\n".join(lines)


def doctor_record(checks: list[Check]) -> dict[str, Any]:
    """The ``lipalign.doctor/1`` record: where it ran, whether everything needed passed, and each check."""
    return {"schema": SCHEMA, "lipalign_version": VERSION, "platform": sys.platform, "python": sys.executable,
            "ok": not any(check.status == "fail" for check in checks),
            "checks": [asdict(check) for check in checks]}
