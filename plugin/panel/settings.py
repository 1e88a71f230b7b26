"""What the panel remembers between sessions.

The run settings an editor changes go to the per-user settings file (:func:`core.settings.save_user_settings`),
the one the worker and the command line read too: a value equal to the studio's (or the built-in default) is
dropped from it, so that it follows the studio, and a key the studio locks is never the editor's to change. The
scope, a choice about the timeline at hand rather than a studio setting, stays in Qt's settings store (the
platform's usual place: the registry on Windows, a plist on macOS, an ini file under ~/.config elsewhere).
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QSettings

from core.settings import Setting
from plugin.reading import SCOPES
from plugin.run_settings import RunSettings

__all__ = ["PANEL_KEYS", "editor_changes", "remember_scope", "remembered_scope"]

# The settings the panel shows a control for (render_folder, log_folder and mode are the files' alone).
PANEL_KEYS = ("strategy", "tolerance", "search_ms", "min_confidence")
SCOPE_KEY = "run/scope"


def editor_changes(shown: RunSettings, chosen: RunSettings, settings: Mapping[str, Setting]) -> dict[str, object]:
    """The settings the editor changed from ``shown`` to ``chosen``, by key; the studio's locked keys left out.

    Only what changed is the editor's choice: the rest may come from the command line, which is this run's, not
    something to remember.
    """
    return {key: getattr(chosen, key) for key in PANEL_KEYS
            if getattr(chosen, key) != getattr(shown, key) and not settings[key].locked}


def remembered_scope(store: QSettings) -> str:
    """The scope the editor chose last time (the whole timeline at first, or when the remembered one is unknown)."""
    scope = store.value(SCOPE_KEY)
    return scope if scope in SCOPES else SCOPES[0]


def remember_scope(store: QSettings, scope: str) -> None:
    store.setValue(SCOPE_KEY, scope)
    store.sync()
