"""manifest.json holds the plugin's facts, and everything else reads them from there instead of repeating them."""

from __future__ import annotations

import importlib
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

from core.version import MANIFEST, VERSION

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "installer"))
import bootstrap  # noqa: E402  (a standalone script, not a package)


def test_manifest_describes_the_plugin():
    assert re.fullmatch(r"[a-z]+(\.[a-z]+)+", MANIFEST["id"])
    assert MANIFEST["name"] == "LipAlign"
    assert re.fullmatch(r"\d+\.\d+\.\d+", MANIFEST["version"])
    assert len(MANIFEST["description"]) > 40
    assert MANIFEST["menu"]["label"] == "Auto-align lips"
    assert MANIFEST["menu"]["location"] == "Workspace > Scripts"
    assert (REPO / MANIFEST["menu"]["script"]).is_file()
    for entry in ("menu", "revert_menu"):  # Resolve lists scripts by file name
        assert (REPO / MANIFEST[entry]["script"]).is_file()
        assert Path(MANIFEST[entry]["script"]).stem == MANIFEST[entry]["label"]
    assert MANIFEST["resolve"]["minimum_version"] == "18.5"
    assert MANIFEST["resolve"]["recommended_version"] == "19.0.2"
    assert MANIFEST["python"]["requires"] == ">=3.11,<3.13"  # jax 0.7.1 (mediapipe) needs 3.11


def pyproject_project() -> str:
    """The ``[project]`` table of pyproject.toml as text (tomllib is not in Python 3.10)."""
    text = (REPO / "pyproject.toml").read_text()
    return text.split("[project]", 1)[1].split("\n[", 1)[0]


@pytest.mark.parametrize("name", ["cli", "timeline", "revert", "worker"])
def test_entry_points_resolve_to_callables(name):
    module, _, attribute = MANIFEST["entry_points"][name].partition(":")
    assert callable(getattr(importlib.import_module(module), attribute))


def test_version_has_one_source():
    assert MANIFEST["version"] == VERSION
    assert importlib.metadata.version("lipalign") == VERSION  # the installed package read it from the manifest
    result = subprocess.run([sys.executable, "-m", "core.cli", "--version"], capture_output=True, text=True,
                            cwd=REPO, timeout=60)
    assert result.stdout.strip() == f"lipalign {VERSION}"
    project = pyproject_project()
    assert re.search(r'^dynamic = \["version"\]', project, re.M) and not re.search(r"^version\s*=", project, re.M)
    # No source file spells the version out: it would go stale at the next release.
    spelled = [p for p in (*REPO.glob("core/**/*.py"), *REPO.glob("plugin/**/*.py"), *REPO.glob("installer/*"))
               if p.is_file() and f'"{VERSION}"' in p.read_text(errors="ignore")]
    assert spelled == []


def test_python_range_has_one_source():
    """The bootstrap derives its interpreters from the manifest; pyproject.toml (which cannot read JSON) agrees."""
    declared = re.search(r'^requires-python = "(.+)"', pyproject_project(), re.M)[1]
    assert declared == MANIFEST["python"]["requires"]
    assert bootstrap.SUPPORTED == ((3, 11), (3, 12))
    assert bootstrap.supported_versions(">=3.11,<3.14") == ((3, 11), (3, 12), (3, 13))
    with pytest.raises(ValueError, match="not of the form"):
        bootstrap.supported_versions(">=3.10")


def test_environment_stamp_follows_the_manifest(tmp_path, monkeypatch):
    """A new version in the manifest rebuilds the environment, so the installed metadata cannot go stale."""
    before = bootstrap.wanted_stamp(dev=False)
    edited = tmp_path / "manifest.json"
    edited.write_text(bootstrap.MANIFEST.read_text().replace(VERSION, "99.0.0"))
    monkeypatch.setattr(bootstrap, "MANIFEST", edited)
    assert bootstrap.wanted_stamp(dev=False) != before
