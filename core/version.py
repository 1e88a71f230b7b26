"""The product version, read from ``manifest.json`` so that the fact lives in one place."""

import json
from pathlib import Path

MANIFEST_PATH = Path(__file__).resolve().parent.parent / "manifest.json"
MANIFEST: dict = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
VERSION: str = MANIFEST["version"]
