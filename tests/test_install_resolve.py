"""The developers' install: Resolve's entry pointing at this checkout and its environment, and back out.

The studio install from the offline bundle is tests/test_deploy.py; the folders of each platform are
core/locations.py, checked here against resolve-api.md section 2.
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from core import locations

REPO = Path(__file__).resolve().parent.parent
INSTALLER = REPO / "installer" / "install_resolve.py"
VENV_PYTHON = REPO / ".venv" / "bin" / "python"


def run(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "LIPALIGN_"))}
    env["HOME"] = str(home)
    proc = subprocess.run([sys.executable, str(INSTALLER), "--quiet", *args], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_a_checkout_install_points_resolve_at_the_checkout_and_uninstalls(tmp_path, monkeypatch):
    utility = tmp_path / ".local" / "share" / "DaVinciResolve" / "Fusion" / "Scripts" / "Utility"
    launcher = tmp_path / ".local" / "share" / "lipalign" / "launcher"
    run(tmp_path, "--python", str(VENV_PYTHON), "--entry", "python")
    script, revert = utility / "Auto-align lips.py", utility / "Revert LipAlign changes.py"
    source = (REPO / "plugin" / "menu" / "Auto-align lips.py").read_text()
    # Resolve's copy differs from the source in one line: where the install's configuration is.
    assert script.read_text() == source.replace("CONFIG_FOLDER = None", f"CONFIG_FOLDER = {str(launcher)!r}", 1)
    assert revert.read_bytes() == (REPO / "plugin" / "menu" / "Revert LipAlign changes.py").read_bytes()
    config = json.loads((launcher / "LipAlign.config.json").read_text())
    assert config == {"home": str(launcher.parent), "python": str(VENV_PYTHON), "code": str(REPO), "scope": "user",
                      "version": json.loads((REPO / "manifest.json").read_text())["version"], "entry": "python"}
    monkeypatch.delenv("LIPALIGN_HOME", raising=False)
    names = runpy.run_path(str(script), run_name="lipalign_menu")
    if names["unsafe_reason"](str(REPO)) is None:  # a checkout in a folder others can write is refused, rightly
        assert names["load_config"]() == {"code": str(REPO), "python": str(VENV_PYTHON)}
    run(tmp_path, "--uninstall")
    assert not (tmp_path / ".local" / "share").exists()  # every folder the install made, and nothing else


def test_without_python_in_resolve_the_entry_is_lua(tmp_path):
    utility = tmp_path / ".local" / "share" / "DaVinciResolve" / "Fusion" / "Scripts" / "Utility"
    run(tmp_path, "--python", str(VENV_PYTHON), "--entry", "lua")
    assert sorted(p.name for p in utility.iterdir()) == ["Auto-align lips.lua", "Revert LipAlign changes.lua"]
    lua = (utility / "Auto-align lips.lua").read_text()
    launcher = tmp_path / ".local" / "share" / "lipalign" / "launcher"
    assert f"local PYTHON = [[{VENV_PYTHON}]]" in lua and f"local SCRIPT = [[{launcher / 'Auto-align lips.py'}]]" in lua
    # Switching the kind of entry replaces the other kind: the command is never listed twice.
    run(tmp_path, "--python", str(VENV_PYTHON), "--entry", "python")
    assert sorted(p.name for p in utility.iterdir()) == ["Auto-align lips.py", "Revert LipAlign changes.py"]


def test_all_users_needs_an_administrator(tmp_path):
    if os.name != "nt" and os.geteuid() == 0:
        pytest.skip("running as root: the refusal cannot be seen")
    env = dict(os.environ, HOME=str(tmp_path))
    proc = subprocess.run([sys.executable, str(INSTALLER), "--all-users", "--python", str(VENV_PYTHON)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--all-users needs an administrator" in proc.stderr


def test_folders_follow_the_documented_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    tail = Path("Fusion", "Scripts", "Utility")
    resolve = Path("Blackmagic Design", "DaVinci Resolve")
    assert locations.scripts_folder("user", "darwin") == tmp_path / "Library" / "Application Support" / resolve / tail
    assert locations.scripts_folder("machine", "darwin") == Path("/Library/Application Support") / resolve / tail
    monkeypatch.setenv("APPDATA", str(tmp_path / "Roaming"))  # %APPDATA% already ends in Roaming
    monkeypatch.setenv("PROGRAMDATA", "C:/ProgramData")
    assert locations.scripts_folder("user", "win32") == tmp_path / "Roaming" / resolve / "Support" / tail
    assert locations.scripts_folder("machine", "win32") == Path("C:/ProgramData") / resolve / tail
    assert locations.scripts_folder("user", "linux") == tmp_path / ".local" / "share" / "DaVinciResolve" / tail
    assert locations.scripts_folder("machine", "linux") == Path("/opt/resolve") / tail
    assert locations.scripts_folder("machine", "linux", root=tmp_path) == tmp_path / "opt" / "resolve" / tail
