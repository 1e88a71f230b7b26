#!/usr/bin/env python3
"""Create (or refresh) LipAlign's dedicated Python environment.

Standard library only, so it runs on a fresh machine. The environment is
rebuilt only when the pinned requirements or the package metadata change;
a stamp file inside the environment records what it was built from.

    python3 installer/bootstrap.py            # runtime environment in ./.venv
    python3 installer/bootstrap.py --dev      # plus the test tools
    python3 installer/bootstrap.py --env DIR  # somewhere else (the Resolve installer uses this)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUNTIME_LOCK = REPO / "installer" / "requirements.lock"
DEV_LOCK = REPO / "installer" / "requirements-dev.lock"
MANIFEST = REPO / "manifest.json"
STAMP_NAME = "lipalign-stamp.txt"


def supported_versions(requires: str) -> tuple[tuple[int, int], ...]:
    """The Python 3 minor versions a ``">=3.X,<3.Y"`` range (manifest ``python.requires``) allows.

    Parameters
    ----------
    requires : str
        A lower bound ``>=3.X`` and an exclusive upper bound ``<3.Y``, comma separated.

    Returns
    -------
    tuple of (int, int)
        ``(3, X) .. (3, Y - 1)`` in ascending order.
    """
    match = re.fullmatch(r"\s*>=\s*3\.(\d+)\s*,\s*<\s*3\.(\d+)\s*", requires)
    if not match:
        raise ValueError(f"python range {requires!r} is not of the form '>=3.X,<3.Y'")
    return tuple((3, minor) for minor in range(int(match[1]), int(match[2])))


# The range lives in manifest.json (pyproject.toml's requires-python is checked against it by the tests).
SUPPORTED = supported_versions(json.loads(MANIFEST.read_text(encoding="utf-8"))["python"]["requires"])


def find_interpreter() -> str:
    """Return a supported Python interpreter: this one if it fits, else the newest supported one on PATH."""
    if sys.version_info[:2] in SUPPORTED:
        return sys.executable
    for major, minor in reversed(SUPPORTED):
        found = shutil.which(f"python{major}.{minor}")
        if found:
            return found
    names = ", ".join(f"{major}.{minor}" for major, minor in SUPPORTED)
    sys.exit(f"lipalign: needs Python {names} (this is {sys.version.split()[0]}); "
             "install one of them and run this script again")


def env_python(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def wanted_stamp(dev: bool) -> str:
    # The manifest is hashed too: the installed package's version is read from it at install time.
    digest = hashlib.sha256()
    for path in (RUNTIME_LOCK, REPO / "pyproject.toml", MANIFEST, *((DEV_LOCK,) if dev else ())):
        digest.update(path.read_bytes())
    return f"{digest.hexdigest()} dev={dev} repo={REPO}\n"


def run(cmd: list[str]) -> None:
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True)


def ensure_env(env: Path, dev: bool) -> Path:
    """Build the environment at ``env`` unless its stamp says it is current."""
    stamp = env / STAMP_NAME
    want = wanted_stamp(dev)
    python = env_python(env)
    if python.exists() and stamp.exists() and stamp.read_text() == want:
        return python
    if not python.exists():
        run([find_interpreter(), "-m", "venv", str(env)])
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "install", "--quiet"]
    locks = ["-r", str(RUNTIME_LOCK)] + (["-r", str(DEV_LOCK)] if dev else [])
    # Every package of the locks, at its locked version, from a wheel whose hash the lock names.
    run([*pip, "--only-binary=:all:", "--require-hashes", "--no-deps", *locks])
    run([*pip, "--no-deps", "-e", str(REPO)])
    run([str(python), "-m", "pip", "--disable-pip-version-check", "check"])  # the lock is complete and consistent
    stamp.write_text(want)
    return python


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", type=Path, default=REPO / ".venv", help="environment folder (default ./.venv)")
    parser.add_argument("--dev", action="store_true", help="also install the test and lint tools")
    args = parser.parse_args()
    try:
        python = ensure_env(args.env.resolve(), args.dev)
    except subprocess.CalledProcessError as exc:
        print(f"lipalign: environment setup failed at: {' '.join(exc.cmd)}", file=sys.stderr)
        return 1
    print(f"lipalign environment ready: {python}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
