"""Open the panel on a demo timeline with known offsets (``python -m plugin.panel --demo``).

The demo timeline is built on the Resolve fake, which lives with the tests (``tests/kit/demo.py``) and is not
part of the installed package: the demo runs from a LipAlign source folder. Its clips are made once, in the
temporary folder.
"""

from __future__ import annotations

import getpass
import sys
import tempfile
from pathlib import Path
from typing import Any

from core.errors import MediaError

__all__ = ["open_demo"]


def open_demo() -> Any:
    """The fake Resolve with the demo timeline current (MediaError outside a source folder)."""
    tests = Path(__file__).resolve().parents[2] / "tests"
    if not (tests / "kit" / "demo.py").exists():
        raise MediaError("the demo needs LipAlign's source folder (its tests/kit holds the Resolve fake); "
                         "run it from a checkout")
    if str(tests) not in sys.path:
        sys.path.insert(0, str(tests))
    from kit.demo import demo_resolve

    return demo_resolve(Path(tempfile.gettempdir()) / f"lipalign-demo-{getpass.getuser()}")
