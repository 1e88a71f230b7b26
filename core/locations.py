"""Where LipAlign's files live on each platform: one place for every folder and file path it uses.

Standard library only: the installer imports this module from a checkout or an unpacked bundle, before
LipAlign's environment exists. Two scopes: ``"user"`` (one account, no admin rights) and ``"machine"`` (all users,
installed by an administrator). Machine-wide paths can be re-rooted under ``root`` (a staging or test folder);
per-user paths follow the account's home and the platform's variables (``APPDATA``, ``XDG_*``).

Resolve's folders are those of resolve-api.md section 2; ``%APPDATA%`` already ends in ``Roaming``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["SCOPES", "app_folder", "cache_folder", "log_folder", "machine_path", "platform_family",
           "scripts_folder", "studio_config_path", "user_config_path"]

SCOPES = ("user", "machine")


def platform_family(platform: str | None = None) -> str:
    """``"macos"``, ``"windows"`` or ``"linux"`` for a ``sys.platform`` value (default: this machine's)."""
    platform = platform or sys.platform
    if platform == "darwin":
        return "macos"
    return "windows" if platform.startswith("win") else "linux"


def _home() -> Path:
    return Path.home()


def _windows_folder(variable: str, fallback: Path) -> Path:
    return Path(os.environ.get(variable) or fallback)


def machine_path(path: str | Path, root: Path | None = None) -> Path:
    """A machine-wide path, under ``root`` when one is given (``/opt/x`` becomes ``ROOT/opt/x``)."""
    path = Path(path)
    if root is None:
        return path
    relative = Path(*path.parts[1:]) if path.is_absolute() else path
    if path.drive:  # C:\\Program Files\\LipAlign -> ROOT/C/Program Files/LipAlign
        relative = Path(path.drive.rstrip(":"), *path.parts[1:])
    return Path(root) / relative


def app_folder(scope: str, platform: str | None = None, root: Path | None = None) -> Path:
    """The folder an install puts LipAlign's environment, code and receipt in."""
    family = platform_family(platform)
    if scope == "user":
        if family == "macos":
            return _home() / "Library" / "Application Support" / "LipAlign"
        if family == "windows":
            return _windows_folder("LOCALAPPDATA", _home() / "AppData" / "Local") / "LipAlign"
        return Path(os.environ.get("XDG_DATA_HOME") or _home() / ".local" / "share") / "lipalign"
    if family == "macos":
        return machine_path("/Library/Application Support/LipAlign", root)
    if family == "windows":
        return machine_path(_windows_folder("ProgramFiles", Path("C:/Program Files")) / "LipAlign", root)
    return machine_path("/opt/lipalign", root)


def scripts_folder(scope: str, platform: str | None = None, root: Path | None = None) -> Path:
    """Resolve's Utility scripts folder (listed under Workspace > Scripts on every page) for one user or all."""
    family = platform_family(platform)
    if scope == "user":
        if family == "macos":
            base = _home() / "Library" / "Application Support" / "Blackmagic Design" / "DaVinci Resolve"
        elif family == "windows":
            base = _windows_folder("APPDATA", _home() / "AppData" / "Roaming") / "Blackmagic Design" / \
                "DaVinci Resolve" / "Support"
        else:
            base = _home() / ".local" / "share" / "DaVinciResolve"
    elif family == "macos":
        base = machine_path("/Library/Application Support/Blackmagic Design/DaVinci Resolve", root)
    elif family == "windows":
        base = machine_path(_windows_folder("PROGRAMDATA", Path("C:/ProgramData")) / "Blackmagic Design" /
                            "DaVinci Resolve", root)
    else:
        base = machine_path("/opt/resolve", root)
    return base / "Fusion" / "Scripts" / "Utility"


def studio_config_path(platform: str | None = None, root: Path | None = None) -> Path:
    """The machine-wide studio configuration (``$LIPALIGN_STUDIO_CONFIG`` to move it, e.g. to a share)."""
    if os.environ.get("LIPALIGN_STUDIO_CONFIG"):
        return Path(os.environ["LIPALIGN_STUDIO_CONFIG"])
    family = platform_family(platform)
    if family == "macos":
        return machine_path("/Library/Application Support/LipAlign/studio.json", root)
    if family == "windows":
        return machine_path(_windows_folder("PROGRAMDATA", Path("C:/ProgramData")) / "LipAlign" / "studio.json", root)
    return machine_path("/etc/lipalign/studio.json", root)


def user_config_path(platform: str | None = None) -> Path:
    """The per-user settings file (``$LIPALIGN_USER_CONFIG`` to move it)."""
    if os.environ.get("LIPALIGN_USER_CONFIG"):
        return Path(os.environ["LIPALIGN_USER_CONFIG"])
    family = platform_family(platform)
    if family == "macos":
        return _home() / "Library" / "Application Support" / "LipAlign" / "settings.json"
    if family == "windows":
        return _windows_folder("APPDATA", _home() / "AppData" / "Roaming") / "LipAlign" / "settings.json"
    return Path(os.environ.get("XDG_CONFIG_HOME") or _home() / ".config") / "lipalign" / "settings.json"


def log_folder(scope: str = "user", platform: str | None = None, root: Path | None = None) -> Path:
    """Where logs go: a user's runs (``$LIPALIGN_LOG_DIR`` to change), or the machine's install logs."""
    family = platform_family(platform)
    if scope == "user":
        if os.environ.get("LIPALIGN_LOG_DIR"):
            return Path(os.environ["LIPALIGN_LOG_DIR"])
        if family == "macos":
            return _home() / "Library" / "Logs" / "LipAlign"
        if family == "windows":
            return _windows_folder("LOCALAPPDATA", _home() / "AppData" / "Local") / "LipAlign" / "Logs"
        return Path(os.environ.get("XDG_STATE_HOME") or _home() / ".local" / "state") / "lipalign" / "logs"
    if family == "macos":
        return machine_path("/Library/Logs/LipAlign", root)
    if family == "windows":
        return machine_path(_windows_folder("PROGRAMDATA", Path("C:/ProgramData")) / "LipAlign" / "Logs", root)
    return machine_path("/var/log/lipalign", root)


def cache_folder(platform: str | None = None) -> Path:
    """The per-user cache folder LipAlign keeps its files in (``$LIPALIGN_CACHE`` to change)."""
    if os.environ.get("LIPALIGN_CACHE"):
        return Path(os.environ["LIPALIGN_CACHE"])
    family = platform_family(platform)
    if family == "macos":
        return _home() / "Library" / "Caches" / "LipAlign"
    if family == "windows":
        return _windows_folder("LOCALAPPDATA", _home() / "AppData" / "Local") / "LipAlign" / "cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or _home() / ".cache") / "lipalign"
