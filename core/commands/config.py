"""``lipalign config [--json]``: the effective settings, and where each one came from.

Each key's value, its source (default, studio, user) and file, and "locked" where the studio locks it; a user
value the lock overrules is listed under its key. ``--json`` prints the same as ``lipalign.config/1`` for other
programs (the Resolve menu script reads the mode and the log folder from it). See :mod:`core.settings`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from core.commands.common import configured
from core.locations import studio_config_path, user_config_path
from core.settings import Setting

SCHEMA = "lipalign.config/1"


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("config", help="show the effective settings and where each came from",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help=f"print them as JSON ({SCHEMA})")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    settings = configured()
    studio, user = studio_config_path(), user_config_path()
    print(config_json(settings, studio, user) if args.json else config_text(settings, studio, user))
    return 0


def config_json(settings: dict[str, Setting], studio: Path, user: Path) -> str:
    """The settings as ``lipalign.config/1`` JSON: the two files, then per key value, source, path and locked."""
    payload: dict[str, Any] = {
        "schema": SCHEMA, "studio_file": str(studio), "user_file": str(user),
        "settings": {key: {"value": s.value, "source": s.source, "path": None if s.path is None else str(s.path),
                           "locked": s.locked} for key, s in settings.items()}}
    return json.dumps(payload, indent=2)


def config_text(settings: dict[str, Setting], studio: Path, user: Path) -> str:
    """The settings for a reader: the two files, then one line per key (values written as in the files)."""
    lines = [f"studio file: {studio}{'' if studio.is_file() else ' (none)'}",
             f"user file:   {user}{'' if user.is_file() else ' (none)'}", ""]
    shown = {key: json.dumps(s.value) for key, s in settings.items()}
    key_width, value_width = max(map(len, settings)), max(map(len, shown.values()))
    for key, s in settings.items():
        where = f"{s.source} ({s.path})" if s.path else s.source
        lines.append(f"{key:<{key_width}}  {shown[key]:<{value_width}}  {where}{'  locked' if s.locked else ''}")
        if s.ignored_user_value is not None:
            lines.append(f"{'':<{key_width}}  the user file's {json.dumps(s.ignored_user_value)} is ignored: "
                         "the studio locks this setting")
    return "\n".join(lines)
