"""The settings of a LipAlign run on a timeline, and their command-line options.

The headless worker takes them as options; the panel takes them as the studio's defaults (the menu
configuration's ``worker_args``) under what each editor chose (:mod:`plugin.panel.settings`). One list, so
both accept the same options with the same defaults and checks.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from core.estimate import EstimatorSettings
from core.tolerance import PRESETS, Tolerance, parse_tolerance
from plugin.plan import STRATEGIES
from plugin.reading import SCOPES

__all__ = ["RunSettings", "add_setting_arguments", "settings_from_args"]


@dataclass(frozen=True)
class RunSettings:
    """What a run measures and decides with.

    ``tolerance`` is a preset name or ``custom:EARLY_MS:LATE_MS``; ``search_ms`` the offset looked for first,
    either way; ``min_confidence`` (0-1) the confidence below which a clip is left for the editor (unticked).
    """

    scope: str = "timeline"
    strategy: str = "auto"
    tolerance: str = "broadcast"
    search_ms: float = EstimatorSettings.search_ms
    min_confidence: float = 0.0

    def checked(self) -> RunSettings:
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
    """The options of :class:`RunSettings` (the menu configuration's ``worker_args`` give the studio's)."""
    defaults = RunSettings()
    parser.add_argument("--scope", choices=SCOPES, default=defaults.scope)
    parser.add_argument("--strategy", choices=STRATEGIES, default=defaults.strategy)
    parser.add_argument("--tolerance", default=defaults.tolerance,
                        help=f"{', '.join(PRESETS)} or custom:EARLY_MS:LATE_MS")
    parser.add_argument("--search-ms", type=float, default=defaults.search_ms)
    parser.add_argument("--min-confidence", type=float, default=defaults.min_confidence)


def settings_from_args(args: argparse.Namespace) -> RunSettings:
    """The settings parsed by :func:`add_setting_arguments` (ValueError when one is malformed)."""
    return RunSettings(args.scope, args.strategy, args.tolerance, args.search_ms, args.min_confidence).checked()
