"""Shared test set-up: Qt without a display, settings files of each test's own, and the shared test corpus."""

from __future__ import annotations

import json
import os
from pathlib import Path

# Without a display Qt aborts the whole process at QApplication creation; set before any Qt import.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("LIPALIGN_CORPUS", REPO.parent / "shared" / "corpus"))


@pytest.fixture(autouse=True)
def own_settings_files(tmp_path_factory, monkeypatch) -> Path:
    """Point the studio and user settings files (core.settings) at an empty folder of the test's own, so that no
    test reads this machine's configuration or a file another test saved; subprocesses inherit it."""
    folder = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("LIPALIGN_STUDIO_CONFIG", str(folder / "studio.json"))
    monkeypatch.setenv("LIPALIGN_USER_CONFIG", str(folder / "settings.json"))
    return folder


def corpus_manifest() -> list[dict]:
    """Entries of the shared corpus MANIFEST.json (empty when the corpus is not beside the repo)."""
    path = CORPUS / "MANIFEST.json"
    return json.loads(path.read_text()) if path.exists() else []


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared corpus folder (../shared/corpus, or $LIPALIGN_CORPUS). Tests that need it fail without it."""
    if not (CORPUS / "MANIFEST.json").exists():
        pytest.fail(f"test corpus not found at {CORPUS}; put ../shared beside the repository or set LIPALIGN_CORPUS")
    return CORPUS
