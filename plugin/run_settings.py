"""The settings of a LipAlign run on a timeline, and their command-line options.

The headless worker and the panel take the same options. Each option given is the top layer over the settings
files (:mod:`core.settings`: built-in default < studio file < user file < command line, under the studio's
locks), so the worker, the panel and ``lipalign analyze`` read the same settings in the same order. The scope is
the run's own (which clips of the timeline at hand), not a setting of the files.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.settings import STRATEGIES, Setting, load_settings, values
from core.tolerance import PRESETS, Tolerance, parse_tolerance
from plugin.reading import SCOPES

__all__ = ["RUN_KEYS", "RunSettings", "add_setting_arguments", "configured", "settings_from_args"]

# The keys of core.settings a run uses, each also an option (``--search-ms`` for search_ms).
RUN_KEYS = ("strategy", "tolerance", "search_ms", "min_confidence", "render_folder")


@dataclass(frozen=True)
class RunSettings:
    """What a run measures and decides with.

    ``scope`` is one of :data:`plugin.reading.SCOPES`; the others are the keys of :mod:`core.settings`:
    ``tolerance`` a preset name or ``custom:EARLY_MS:LATE_MS``, ``search_ms`` the offset looked for first,
    either way (ms), ``min_confidence`` (0-1) the confidence below which a clip is left for the editor
    (unticked), ``render_folder`` where corrected audio is written (None: the project's cache folder).
    """

    scope: str
    strategy: str
    tolerance: str
    search_ms: float
    min_confidence: float
    render_folder: str | None

    @classmethod
    def from_settings(cls, scope: str, settings: Mapping[str, Setting]) -> RunSettings:
        """The run over ``scope`` with the effective ``settings`` of :func:`core.settings.load_settings`."""
        chosen = values(settings)
        return cls(scope, *(chosen[key] for key in RUN_KEYS))

    @property
    def tolerance_limits(self) -> Tolerance:
        return parse_tolerance(self.tolerance)


def add_setting_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of :class:`RunSettings`; one left out keeps the settings files' value (None here)."""
    parser.add_argument("--scope", choices=SCOPES, help=f"which clips (default {SCOPES[0]})")
    parser.add_argument("--strategy", choices=STRATEGIES)
    parser.add_argument("--tolerance", help=f"{', '.join(PRESETS)} or custom:EARLY_MS:LATE_MS")
    parser.add_argument("--search-ms", type=float)
    parser.add_argument("--min-confidence", type=float)
    # Made absolute here: a folder given on the command line is relative to where the command was typed.
    parser.add_argument("--render-folder", type=os.path.abspath,
                        help="write corrected audio here (default: a LipAlign folder in the project's cache folder)")


def configured(args: argparse.Namespace, user_path: Path | None = None) -> dict[str, Setting]:
    """The effective settings with the options given as the command line's (SettingsError, a ValueError, for a
    bad settings file or value, or an option the studio locks). ``user_path`` replaces the user file."""
    return load_settings({key: getattr(args, key) for key in RUN_KEYS}, user_path=user_path)


def settings_from_args(args: argparse.Namespace) -> RunSettings:
    """The run the options of :func:`add_setting_arguments` ask for, over the settings files."""
    return RunSettings.from_settings(args.scope or SCOPES[0], configured(args))
