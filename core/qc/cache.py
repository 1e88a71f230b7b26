"""Results kept by what determines them: the file's content, the settings and LipAlign's version.

A second run over a folder, or a run after an interruption, finds every unchanged file here and analyses
only the rest. Each entry is one JSON file named by its key, written atomically, so a run stopped mid-write
leaves the old entry or none, never half of one; several processes (a Dask farm on shared storage) can
share a cache folder.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from core.fileio import write_text_output
from core.locations import cache_folder
from core.version import VERSION

__all__ = ["CACHE_SCHEMA", "content_hash", "default_cache_folder", "entry_key", "read_entry", "write_entry"]

CACHE_SCHEMA = "lipalign.qc-cache/1"
CHUNK = 1 << 20


def default_cache_folder() -> Path:
    """The QC results' folder in LipAlign's per-user cache folder (``$LIPALIGN_CACHE`` moves that one)."""
    return cache_folder() / "qc"


def content_hash(path: str) -> str:
    """BLAKE2b (128-bit) of the file's bytes: the same content under any name or date is the same file."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def entry_key(file_hash: str, settings: dict[str, Any]) -> str:
    """The key of one result: the content, every setting that changes the answer, and the version."""
    text = json.dumps({"content": file_hash, "settings": settings, "version": VERSION}, sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def read_entry(folder: Path, key: str) -> dict[str, Any] | None:
    """The cached result for ``key``, or None (missing, or unreadable: then it is simply analysed again)."""
    try:
        entry = json.loads((folder / f"{key}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return entry if entry.get("schema") == CACHE_SCHEMA and entry.get("key") == key else None


def write_entry(folder: Path, key: str, result: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    write_text_output(folder / f"{key}.json", json.dumps({"schema": CACHE_SCHEMA, "key": key, **result}) + "\n")
