"""The panel's settings: the studio's defaults (the menu configuration), then what this editor chose last time.

Kept per user in Qt's settings store (the platform's usual place: the registry on Windows, a plist on macOS,
an ini file under ~/.config elsewhere). A setting the editor never changed follows the studio's default, so
a new studio default reaches everyone who has not chosen otherwise.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from PySide6.QtCore import QSettings

from core.estimate import EstimatorSettings
from core.tolerance import PRESETS, Tolerance, parse_tolerance
from plugin.plan import STRATEGIES
from plugin.reading import SCOPES

__all__ = ["PanelSettings", "add_setting_arguments", "load_settings", "save_settings", "studio_defaults"]

GROUP = "run"


@dataclass(frozen=True)
class PanelSettings:
    """What a Measure is run with.

    ``tolerance`` is a preset name or ``custom:EARLY_MS:LATE_MS``; ``search_ms`` the offset looked for first,
    either way; ``min_confidence`` (0-1) the confidence below which a clip is left for the editor (unticked).
    """

    scope: str = "timeline"
    strategy: str = "auto"
    tolerance: str = "broadcast"
    search_ms: float = EstimatorSettings.search_ms
    min_confidence: float = 0.0

    def checked(self) -> PanelSettings:
        """These settings, or ValueError with the one thing that is wrong."""
        if self.scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {self.scope!r}")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {self.strategy!r}")
        parse_tolerance(self.tolerance)
        EstimatorSettings(search_ms=self.search_ms)
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ValueError(f"the confidence threshold must be 0 to 1, not {self.min_confidence:g}")
        return self

    @property
    def tolerance_limits(self) -> Tolerance:
        return parse_tolerance(self.tolerance)


def add_setting_arguments(parser: argparse.ArgumentParser) -> None:
    """The studio's defaults, as the menu configuration's worker arguments give them."""
    defaults = PanelSettings()
    parser.add_argument("--scope", choices=SCOPES, default=defaults.scope)
    parser.add_argument("--strategy", choices=STRATEGIES, default=defaults.strategy)
    parser.add_argument("--tolerance", default=defaults.tolerance,
                        help=f"{', '.join(PRESETS)} or custom:EARLY_MS:LATE_MS")
    parser.add_argument("--search-ms", type=float, default=defaults.search_ms)
    parser.add_argument("--min-confidence", type=float, default=defaults.min_confidence)


def studio_defaults(args: argparse.Namespace) -> PanelSettings:
    """The defaults from parsed :func:`add_setting_arguments` (ValueError when one is malformed)."""
    return PanelSettings(args.scope, args.strategy, args.tolerance, args.search_ms, args.min_confidence).checked()


def load_settings(store: QSettings, defaults: PanelSettings) -> PanelSettings:
    """The editor's remembered choices over ``defaults``; a remembered value that no longer parses is dropped."""
    store.beginGroup(GROUP)
    try:
        chosen: dict[str, Any] = {}
        for f in fields(PanelSettings):
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


def save_settings(store: QSettings, settings: PanelSettings, defaults: PanelSettings) -> None:
    """Remember what differs from the studio's defaults; forget what equals them (so it follows them)."""
    store.beginGroup(GROUP)
    for name, value in asdict(settings).items():
        if value == getattr(defaults, name):
            store.remove(name)
        else:
            store.setValue(name, value)
    store.endGroup()
    store.sync()
