"""Reach DaVinci Resolve Studio from outside the application, through Blackmagic's DaVinciResolveScript.

External scripting needs Studio and Preferences > System > General > "External scripting using: Local";
the free edition refuses foreign processes (resolve-api.md §2). The module is looked for on the import
path first, then in the standard Blackmagic folders (``$RESOLVE_SCRIPT_API/Modules`` and the per-OS
defaults from the scripting README).
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from plugin.resolve_api import ResolveUnsupported

__all__ = ["connect", "load_module", "module_dirs"]

SCRIPT_API_DIRS = {
    "darwin": "/Library/Application Support/Blackmagic Design/DaVinci Resolve/Developer/Scripting",
    "win32": os.path.join(os.environ.get("PROGRAMDATA", r"C:\ProgramData"),
                          "Blackmagic Design", "DaVinci Resolve", "Support", "Developer", "Scripting"),
    "linux": "/opt/resolve/Developer/Scripting",
}


def module_dirs() -> list[Path]:
    """Folders that may hold DaVinciResolveScript.py, in the order they are tried."""
    dirs = [Path(os.environ["RESOLVE_SCRIPT_API"]) / "Modules"] if os.environ.get("RESOLVE_SCRIPT_API") else []
    platform = "linux" if sys.platform.startswith("linux") else sys.platform
    if platform in SCRIPT_API_DIRS:
        dirs.append(Path(SCRIPT_API_DIRS[platform]) / "Modules")
    return dirs


def load_module() -> ModuleType:
    """Import DaVinciResolveScript, adding the standard Blackmagic folders to the path if needed."""
    try:
        return importlib.import_module("DaVinciResolveScript")
    except ImportError:
        pass
    for folder in module_dirs():
        if (folder / "DaVinciResolveScript.py").exists():
            sys.path.append(str(folder))
            return importlib.import_module("DaVinciResolveScript")
    raise ResolveUnsupported("DaVinciResolveScript was not found (looked in "
                             + ", ".join(str(d) for d in module_dirs())
                             + "); install DaVinci Resolve Studio or set RESOLVE_SCRIPT_API")


def connect(module: Any = None) -> Any:
    """``scriptapp("Resolve")`` from ``module`` (default: the real DaVinciResolveScript), or a clear refusal."""
    module = module or load_module()
    resolve = module.scriptapp("Resolve")
    if resolve is None:
        raise ResolveUnsupported("DaVinci Resolve refused the connection: start Resolve Studio and set Preferences "
                                 "> System > General > External scripting using: Local (the free edition refuses "
                                 "outside scripts; use Workspace > Scripts > Auto-align lips there)")
    return resolve
