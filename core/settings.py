"""The studio's settings and each user's: one machine-wide file, one per user, read the same way by everyone.

The command line (``lipalign analyze``, ``qc``, ``config``), the headless worker and the panel all read
:func:`load_settings`, which stacks four layers, lowest first:

1. the built-in default;
2. the studio file (:func:`core.locations.studio_config_path`, ``$LIPALIGN_STUDIO_CONFIG``);
3. the user file (:func:`core.locations.user_config_path`, ``$LIPALIGN_USER_CONFIG``);
4. what was given explicitly on the command line.

A key the studio locks takes the studio's value (its built-in default when the studio locks without setting
it) whatever the user file says: the user's value is reported as ignored, not an error, so that a user file
written before the lock keeps working. Giving a locked key on the command line is an error: a script that asks
for something the studio forbids should stop, not run with something else.

Both files are JSON::

    studio: {"settings": {"tolerance": "ebu-r37", "mode": "headless"}, "locked": ["tolerance"]}
    user:   {"settings": {"min_confidence": 0.5}}

A missing file is an empty layer. Anything else wrong with a file (unreadable, not JSON, an unknown key, a wrong
type, a bad value) is a :class:`SettingsError` naming the file and the key.

Importing this module costs no more than the standard library: ``lipalign config`` is run by other programs to
learn the mode and the log folder, and numpy and scipy (behind :class:`core.estimate.EstimatorSettings`, which
judges ``search_ms``) are imported only when the settings are read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import locations
from core.errors import MediaError
from core.fileio import write_text_output
from core.tolerance import parse_tolerance

__all__ = ["KEYS", "MODES", "STRATEGIES", "Setting", "SettingsError", "load_settings",
           "save_user_settings", "values"]

# How the plugin may bring a clip's sound onto the lips (see plugin.plan.decide).
STRATEGIES: tuple[str, ...] = ("auto", "slip", "conform", "speed")
# What Workspace > Scripts > Auto-align lips opens: the panel, or the windowless worker.
MODES: tuple[str, ...] = ("panel", "headless")


class SettingsError(ValueError):
    """A settings file or value that cannot be used; the message is one line naming the file and the key."""


@dataclass(frozen=True)
class Setting:
    """One key's effective value and where it came from.

    Attributes
    ----------
    key : the setting's name, one of :data:`KEYS`.
    value : the effective value (``search_ms`` in ms, ``min_confidence`` 0 to 1, folders absolute or None).
    source : where the value came from: ``"default"``, ``"studio"``, ``"user"`` or ``"command line"``.
    path : the file the value came from (None for a default or the command line).
    locked : whether the studio locks the key.
    ignored_user_value : the user file's value overruled by the studio's lock, None when it sets none (or
        null, which only asked for the built-in default the studio replaced anyway).
    """

    key: str
    value: Any
    source: str
    path: Path | None
    locked: bool = False
    ignored_user_value: Any = None


# -- the keys: each one's check, which also normalises ---------------------------------------------------------


def _shown(value: object) -> str:
    return json.dumps(value)


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be text, not {_shown(value)}")
    return value.strip()


def _number(value: object) -> float:
    # JSON's true and false are Python ints: refuse them rather than read true as 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number, not {_shown(value)}")
    return float(value)


def _one_of(choices: tuple[str, ...]) -> Callable[[object], str]:
    def check(value: object) -> str:
        text = _text(value)
        if text not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}, not {_shown(value)}")
        return text

    return check


def _tolerance(value: object) -> str:
    return parse_tolerance(_text(value)).name


def _search_ms(value: object) -> float:
    from core.estimate import EstimatorSettings  # numpy and scipy: only when a search range is given

    return EstimatorSettings(search_ms=_number(value)).search_ms


def _min_confidence(value: object) -> float:
    confidence = _number(value)
    if not 0.0 <= confidence <= 1.0:
        raise ValueError(f"must be 0 to 1, not {confidence:g}")
    return confidence


def _folder(value: object) -> str:
    # Absolute, because the worker, the panel and the command line each run from a folder of their own.
    folder = Path(_text(value)).expanduser()
    if not folder.is_absolute():
        raise ValueError(f"must be an absolute folder path, not {_shown(value)}")
    return str(folder)


def _render_folder(value: object) -> str | None:
    return None if value is None else _folder(value)


def _log_folder(value: object) -> str:
    # Null is the per-user log folder, written out so that whoever reads the settings needs no rule of its own.
    return str(locations.log_folder("user")) if value is None else _folder(value)


_CHECKS: dict[str, Callable[[object], Any]] = {
    "tolerance": _tolerance,
    "strategy": _one_of(STRATEGIES),
    "search_ms": _search_ms,
    "min_confidence": _min_confidence,
    "render_folder": _render_folder,
    "log_folder": _log_folder,
    "mode": _one_of(MODES),
}
KEYS: tuple[str, ...] = tuple(_CHECKS)


def _defaults() -> dict[str, Any]:
    """The built-in value of every key (read each time: the log folder follows ``$LIPALIGN_LOG_DIR``)."""
    from core.estimate import EstimatorSettings  # numpy and scipy: see the module's docstring

    return {"tolerance": "broadcast", "strategy": "auto", "search_ms": EstimatorSettings.search_ms,
            "min_confidence": 0.0, "render_folder": None, "log_folder": _log_folder(None), "mode": "panel"}


def _checked(raw: Mapping[str, object], where: str) -> dict[str, Any]:
    """``raw``'s values checked and normalised; ``where`` (a file, or ``--`` for options) names them in errors."""
    checked = {}
    for key, value in raw.items():
        named = f"--{key.replace('_', '-')}" if where == "--" else f"{where}: {key}"
        if key not in _CHECKS:
            raise SettingsError(f"{named}: unknown setting; the settings are {', '.join(KEYS)}")
        try:
            checked[key] = _CHECKS[key](value)
        except ValueError as exc:
            raise SettingsError(f"{named}: {exc}") from None
    return checked


# -- the files -------------------------------------------------------------------------------------------------


def _read(path: Path, parts: tuple[str, ...]) -> dict[str, Any]:
    """The top-level object of a settings file holding only ``parts``; empty when there is no file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettingsError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: must hold a JSON object with {' and '.join(map(_shown, parts))}")
    unknown = sorted(set(data) - set(parts))
    if unknown:
        raise SettingsError(f"{path}: {unknown[0]}: unknown key; this file holds {' and '.join(map(_shown, parts))}")
    if not isinstance(data.get("settings", {}), dict):
        raise SettingsError(f'{path}: settings: must be a JSON object of "KEY": VALUE')
    return data


def _studio(path: Path) -> tuple[dict[str, Any], frozenset[str]]:
    """The studio file's values and the keys it locks."""
    data = _read(path, ("settings", "locked"))
    locked = data.get("locked", [])
    if not isinstance(locked, list) or not all(isinstance(key, str) for key in locked):
        raise SettingsError(f'{path}: locked: must be a list of setting names, like ["tolerance"]')
    unknown = sorted(set(locked) - set(KEYS))
    if unknown:
        raise SettingsError(f"{path}: locked: unknown setting {unknown[0]!r}; the settings are {', '.join(KEYS)}")
    return _checked(data.get("settings", {}), str(path)), frozenset(locked)


def _user(path: Path) -> dict[str, Any]:
    """The user file's values."""
    return _checked(_read(path, ("settings",)).get("settings", {}), str(path))


def _locked_error(key: str, studio_path: Path) -> SettingsError:
    return SettingsError(f"{key} is locked by the studio configuration ({studio_path})")


def load_settings(command_line: Mapping[str, object] | None = None, studio_path: Path | None = None,
                  user_path: Path | None = None) -> dict[str, Setting]:
    """Every key's effective value: default < studio file < user file < command line, under the studio's locks.

    Parameters
    ----------
    command_line : the values given explicitly on the command line, by key (``search_ms`` in ms); a None value
        counts as not given, so that an option's unset default can be passed as it is.
    studio_path, user_path : the two files (default :func:`core.locations.studio_config_path` and
        :func:`core.locations.user_config_path`, which follow ``$LIPALIGN_STUDIO_CONFIG`` and
        ``$LIPALIGN_USER_CONFIG``). A missing file is an empty layer.

    Returns
    -------
    dict
        Key to :class:`Setting`, for every key of :data:`KEYS`, in that order.

    Raises
    ------
    SettingsError
        A file that cannot be read or holds an unknown key, a wrong type or a bad value; a bad or unknown
        command-line value; a command-line value for a key the studio locks.
    """
    studio_path = studio_path or locations.studio_config_path()
    user_path = user_path or locations.user_config_path()
    studio, locked = _studio(studio_path)
    user = _user(user_path)
    given = _checked({key: value for key, value in (command_line or {}).items() if value is not None}, "--")
    refused = [key for key in KEYS if key in given and key in locked]
    if refused:
        raise _locked_error(refused[0], studio_path)
    defaults = _defaults()
    layers = (("command line", None, given), ("user", user_path, user), ("studio", studio_path, studio),
              ("default", None, defaults))
    settings = {}
    for key in KEYS:
        if key in locked:
            value = studio.get(key, defaults[key])
            ignored = user[key] if user.get(key, value) != value else None
            settings[key] = Setting(key, value, "studio", studio_path, True, ignored)
        else:
            source, path, layer = next(layer for layer in layers if key in layer[2])
            settings[key] = Setting(key, layer[key], source, path)
    return settings


def values(settings: Mapping[str, Setting]) -> dict[str, Any]:
    """Key to effective value, from :func:`load_settings`' answer."""
    return {key: setting.value for key, setting in settings.items()}


def save_user_settings(changes: Mapping[str, object], user_path: Path | None = None,
                       studio_path: Path | None = None) -> Path:
    """Merge ``changes`` into the user file and return its path.

    A value equal to what the studio (or the built-in default) gives is removed from the file instead of
    written, so that the key follows the studio from then on. The file is replaced atomically (a temporary
    file beside it, flushed to disk, renamed over it: :func:`core.fileio.write_text_output`), so a crash
    leaves the old file or the new one, never half of one. Its folder is made when missing.

    Parameters
    ----------
    changes : key to new value (the types and units of :func:`load_settings`).
    user_path, studio_path : as for :func:`load_settings`.

    Raises
    ------
    SettingsError
        A bad value or unknown key, a key the studio locks, either file unreadable or invalid (a user file that
        cannot be read is not overwritten), or the user file cannot be written.
    """
    studio_path = studio_path or locations.studio_config_path()
    user_path = user_path or locations.user_config_path()
    studio, locked = _studio(studio_path)
    changed = _checked(changes, str(user_path))
    refused = [key for key in KEYS if key in changed and key in locked]
    if refused:
        raise _locked_error(refused[0], studio_path)
    kept = _user(user_path)
    inherited = {**_defaults(), **studio}
    for key, value in changed.items():
        if value == inherited[key]:
            kept.pop(key, None)
        else:
            kept[key] = value
    text = json.dumps({"settings": {key: kept[key] for key in KEYS if key in kept}}, indent=2) + "\n"
    try:
        user_path.parent.mkdir(parents=True, exist_ok=True)
        write_text_output(user_path, text)
    except OSError as exc:
        raise SettingsError(f"{user_path}: cannot write it ({exc.strerror or exc})") from None
    except MediaError as exc:  # core.fileio's refusals (a folder, a full disk) already name the file
        raise SettingsError(str(exc)) from None
    return user_path
