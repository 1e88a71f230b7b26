#!/usr/bin/env python3
"""Install LipAlign into DaVinci Resolve's Scripts menu for the current user (standard library only).

    python3 installer/install_resolve.py                  # environment in ~/.lipalign/env, script into Resolve
    python3 installer/install_resolve.py --env .venv --dev  # developers: use (and refresh) the repo's .venv
    python3 installer/install_resolve.py --python PATH    # use an existing LipAlign environment as it is
    python3 installer/install_resolve.py --dry-run        # say what would happen, change nothing
    python3 installer/install_resolve.py --uninstall      # remove the script and its config (not the environment)

The menu script goes to Resolve's per-user Fusion/Scripts/Utility folder (listed on every page under
Workspace > Scripts), with LipAlign.config.json beside it naming the LipAlign folder and the Python of
its environment. Resolve lists new scripts after a restart.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import REPO, ensure_env

sys.path.insert(0, str(REPO))
from core.version import MANIFEST  # standard library only, like this installer

# "Auto-align lips" and "Revert LipAlign changes": Resolve lists each script of the folder under its file name.
MENU_SOURCES = [REPO / MANIFEST[entry]["script"] for entry in ("menu", "revert_menu")]
CONFIG_NAME = "LipAlign.config.json"  # the menu script reads this name beside itself


def user_scripts_folder(platform: str = sys.platform, home: Path | None = None) -> Path:
    """Resolve's per-user Utility scripts folder (resolve-api.md §2; %APPDATA% already ends in Roaming)."""
    home = home or Path.home()
    if platform == "darwin":
        base = home / "Library" / "Application Support" / "Blackmagic Design" / "DaVinci Resolve"
    elif platform.startswith("win"):
        base = Path(os.environ.get("APPDATA", home / "AppData" / "Roaming")) / "Blackmagic Design" / \
            "DaVinci Resolve" / "Support"
    else:
        base = home / ".local" / "share" / "DaVinciResolve"
    return base / "Fusion" / "Scripts" / "Utility"


def install(scripts: Path, python: Path, dry_run: bool) -> None:
    config = {"repo": str(REPO), "python": str(python)}
    for source in MENU_SOURCES:
        print(f"copy {source} -> {scripts / source.name}")
    print(f"write {scripts / CONFIG_NAME}: {json.dumps(config)}")
    if dry_run:
        return
    scripts.mkdir(parents=True, exist_ok=True)
    for source in MENU_SOURCES:
        shutil.copyfile(source, scripts / source.name)
    (scripts / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    print("installed: restart DaVinci Resolve, then Workspace > Scripts > Auto-align lips")


def uninstall(scripts: Path, dry_run: bool) -> None:
    for path in (*(scripts / source.name for source in MENU_SOURCES), scripts / CONFIG_NAME):
        if path.exists():
            print(f"remove {path}")
            if not dry_run:
                path.unlink()
    print("the LipAlign environment and logs are left in place; delete them by hand if you wish")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", type=Path, default=Path.home() / ".lipalign" / "env",
                        help="environment folder to create or refresh (default ~/.lipalign/env)")
    parser.add_argument("--dev", action="store_true", help="also install the test tools into the environment")
    parser.add_argument("--python", type=Path, help="use this existing environment's Python; build nothing")
    parser.add_argument("--scripts-dir", type=Path, help="Resolve scripts folder (default: the per-user Utility one)")
    parser.add_argument("--dry-run", action="store_true", help="print what would be done and change nothing")
    parser.add_argument("--uninstall", action="store_true", help="remove the menu script and its config")
    args = parser.parse_args(argv)
    scripts = args.scripts_dir or user_scripts_folder()
    if args.uninstall:
        uninstall(scripts, args.dry_run)
        return 0
    if args.python:
        python = args.python.absolute()
        if not python.exists():
            print(f"lipalign: no Python at {python}", file=sys.stderr)
            return 1
    elif args.dry_run:
        python = args.env.absolute() / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        print(f"create or refresh the environment {args.env.absolute()} (dev={args.dev})")
    else:
        try:
            python = ensure_env(args.env.absolute(), args.dev)
        except subprocess.CalledProcessError as exc:
            print(f"lipalign: environment setup failed at: {' '.join(exc.cmd)}", file=sys.stderr)
            return 1
    install(scripts, python, args.dry_run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
