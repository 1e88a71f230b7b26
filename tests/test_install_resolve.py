"""The Resolve installer puts the menu script and its config into a per-user Scripts folder, and takes them out."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INSTALLER = REPO / "installer" / "install_resolve.py"
VENV_PYTHON = REPO / ".venv" / "bin" / "python"


def run(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, HOME=str(home))
    proc = subprocess.run([sys.executable, str(INSTALLER), *args], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_install_then_uninstall_into_a_temporary_home(tmp_path, monkeypatch):
    utility = tmp_path / ".local" / "share" / "DaVinciResolve" / "Fusion" / "Scripts" / "Utility"
    run(tmp_path, "--python", str(VENV_PYTHON))
    script, revert = utility / "Auto-align lips.py", utility / "Revert LipAlign changes.py"
    assert script.read_bytes() == (REPO / "plugin" / "menu" / "Auto-align lips.py").read_bytes()
    assert revert.read_bytes() == (REPO / "plugin" / "menu" / "Revert LipAlign changes.py").read_bytes()
    config = json.loads((utility / "LipAlign.config.json").read_text())
    assert config == {"repo": str(REPO), "python": str(VENV_PYTHON)}
    # The installed script, from where Resolve would run it, finds LipAlign through that config.
    monkeypatch.delenv("LIPALIGN_HOME", raising=False)
    monkeypatch.delenv("LIPALIGN_PYTHON", raising=False)
    monkeypatch.delenv("LIPALIGN_WORKER_ARGS", raising=False)
    monkeypatch.delenv("LIPALIGN_MODE", raising=False)
    names = runpy.run_path(str(script), run_name="lipalign_menu")
    assert names["load_config"]() == {"repo": str(REPO), "python": str(VENV_PYTHON), "worker_args": [],
                                      "mode": "panel"}
    run(tmp_path, "--uninstall")
    assert not script.exists() and not revert.exists() and not (utility / "LipAlign.config.json").exists()


def test_dry_run_changes_nothing(tmp_path):
    proc = run(tmp_path, "--dry-run")
    assert "create or refresh the environment" in proc.stdout and "Auto-align lips.py" in proc.stdout
    assert list(tmp_path.iterdir()) == []


def test_per_user_folders_follow_the_documented_paths(tmp_path, monkeypatch):
    folder = runpy.run_path(str(INSTALLER), run_name="installer")["user_scripts_folder"]
    tail = Path("Fusion", "Scripts", "Utility")
    mac = tmp_path / "Library" / "Application Support" / "Blackmagic Design" / "DaVinci Resolve"
    assert folder("darwin", tmp_path) == mac / tail
    monkeypatch.setenv("APPDATA", str(tmp_path / "Roaming"))
    roaming = tmp_path / "Roaming" / "Blackmagic Design" / "DaVinci Resolve" / "Support"
    assert folder("win32", tmp_path) == roaming / tail
    assert folder("linux", tmp_path) == tmp_path / ".local" / "share" / "DaVinciResolve" / tail
