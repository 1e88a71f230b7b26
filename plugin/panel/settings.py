"""The panel's settings: the studio's defaults (the menu configuration), then what this editor chose last time.

Kept per user in Qt's settings store (the platform's usual place: the registry on Windows, a plist on macOS,
an ini file under ~/.config elsewhere). A setting the editor never changed follows the studio's default, so
a new studio default reaches everyone who has not chosen otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, fields, replace
from typing import Any

from PySide6.QtCore import QSettings

from plugin.run_settings import RunSettings

__all__ = ["load_settings", "save_settings"]

GROUP = "run"


def load_settings(store: QSettings, defaults: RunSettings) -> RunSettings:
    """The editor's remembered choices over ``defaults``; a remembered value that no longer parses is dropped."""
    store.beginGroup(GROUP)
    try:
        chosen: dict[str, Any] = {}
        for f in fields(RunSettings):
            if store.contains(f.name):
                value = store.value(f.name)
                chosen[f.name] = float(value) if isinstance(getattr(defaults, f.name), float) else str(value)
    except (TypeError, ValueError):
        chosen = {}
    finally:
        store.endGroup()
    try:
        return replace(defaults, **chosen).checked()
    except ValueError:
        return defaults


def save_settings(store: QSettings, settings: RunSettings, defaults: RunSettings) -> None:
    """Remember what differs from the studio's defaults; forget what equals them (so it follows them)."""
    store.beginGroup(GROUP)
    for name, value in asdict(settings).items():
        if value == getattr(defaults, name):
            store.remove(name)
        else:
            store.setValue(name, value)
    store.endGroup()
    store.sync()
