"""The product version, read from ``manifest.json`` so that the fact lives in one place."""

import json
import sys
from pathlib import Path

__all__ = ["MANIFEST", "VERSION"]

# A checkout (or an editable install) has the manifest beside core/; an installed wheel puts it in
# <environment>/share/lipalign (pyproject.toml's data-files).
_CHECKOUT_MANIFEST = Path(__file__).resolve().parent.parent / "manifest.json"
MANIFEST_PATH = _CHECKOUT_MANIFEST if _CHECKOUT_MANIFEST.exists() else \
    Path(sys.prefix) / "share" / "lipalign" / "manifest.json"
MANIFEST: dict = json.loads(MANIFEST_PATH.read_text(encoding="utf-8"))
VERSION: str = MANIFEST["version"]
