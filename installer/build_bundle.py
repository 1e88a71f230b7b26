#!/usr/bin/env python3
"""Build the offline bundle a studio deploys: every wheel LipAlign needs for one platform, in one zip.

    python3 installer/build_bundle.py                                # this machine's platform, into ./dist
    python3 installer/build_bundle.py --platform macos-arm64 -o DIR  # any platform, from any machine

It writes ``lipalign-VERSION-PLATFORM.zip``: LipAlign as a wheel, every package of installer/requirements.lock
as a wheel for that platform and each Python the manifest allows, the Resolve menu and launcher scripts,
``manifest.json``, the installer, ``BUNDLE.json`` (what is inside) and ``SHA256SUMS``. The zip runs as the
installer: ``python3 lipalign-VERSION-PLATFORM.zip [--all-users]`` (see install_resolve.py; no network).

Built from the lock, whose entries carry their wheels' hashes, so two builds of one commit hold the same
wheels; the zip itself is written with sorted names and the commit's time, so it is byte for byte the same.
Needs a Python with pip and the network to the package index (wheels are cached in ``--cache``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import MANIFEST, REPO, RUNTIME_LOCK, SUPPORTED
from lock import locked_entries
from platforms import PLATFORMS, Platform, this_platform

try:
    from packaging.markers import Marker
except ImportError:  # a bare Python: pip carries its own copy
    from pip._vendor.packaging.markers import Marker

BUNDLE_SCHEMA = "lipalign.bundle/1"
# What the installer needs besides the wheels: it runs from an unpacked bundle exactly as from a checkout.
INSTALLER_FILES = ("installer/install_resolve.py", "installer/bootstrap.py", "installer/platforms.py",
                   "core/__init__.py", "core/version.py", "core/locations.py", "core/host.py", "manifest.json")
LAUNCHERS = ("plugin/menu/Auto-align lips.py", "plugin/menu/Revert LipAlign changes.py", "plugin/menu/launcher.lua")
# `python3 BUNDLE.zip ...` runs this: unpack the small files, then the installer with --bundle pointing here.
ZIP_MAIN = '''"""Install LipAlign from this bundle.

python3 THIS.zip [--all-users] [--prefix DIR] [--quiet] [--uninstall]: see installer/install_resolve.py.
"""
import os
import sys
import tempfile
import zipfile

bundle = os.path.abspath(sys.argv[0])
with tempfile.TemporaryDirectory() as unpacked:
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(unpacked, [n for n in archive.namelist() if not n.startswith("wheels/")])
    sys.path.insert(0, os.path.join(unpacked, "installer"))
    from install_resolve import main

    code = main(["--bundle", bundle, *sys.argv[1:]])
sys.exit(code)
'''


def version() -> str:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))["version"]


def source_epoch() -> int:
    """The commit's time (reproducible builds' SOURCE_DATE_EPOCH), or the manifest's outside a git checkout."""
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    found = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=REPO, capture_output=True, text=True)
    return int(found.stdout.strip()) if found.returncode == 0 and found.stdout.strip() else \
        int(MANIFEST.stat().st_mtime)


def commit() -> str:
    found = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return found.stdout.strip() if found.returncode == 0 else "unknown"


def entries_for(target: Platform, python: tuple[int, int]) -> list[str]:
    """The lock's entries (with their hashes, without their markers) that apply on ``target`` under ``python``."""
    environment = {**target.markers, "python_version": f"{python[0]}.{python[1]}",
                   "python_full_version": f"{python[0]}.{python[1]}.0"}
    chosen = []
    for entry in locked_entries(RUNTIME_LOCK.read_text(encoding="utf-8")):
        requirement, rest = entry.split("\\", 1)
        pin, _, marker = requirement.partition(";")
        if not marker.strip() or Marker(marker.strip()).evaluate(environment):
            # The marker is dropped once judged: pip would judge it again against the machine that builds.
            chosen.append(f"{pin.strip()} \\{rest}")
    return chosen


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args], check=True)


def download_wheels(target: Platform, pythons: list[tuple[int, int]], cache: Path, scratch: Path) -> dict[str, Path]:
    """Fetch the lock's wheels for each Python (kept in ``cache`` by platform and Python); return name -> file.

    Each download folder holds one Python's choice, so its files are exactly the wheels that Python installs
    (a file left from an older lock is not taken: its hash is not in the lock).
    """
    wheels: dict[str, Path] = {}
    for python in pythons:
        tag = f"{python[0]}{python[1]}"
        entries = entries_for(target, python)
        requirements = scratch / f"requirements-cp{tag}.txt"
        requirements.write_text("".join(entries), encoding="utf-8")
        folder = cache / target.name / f"cp{tag}"
        print(f"wheels for {target.name}, Python {python[0]}.{python[1]} -> {folder}", file=sys.stderr, flush=True)
        platforms = [arg for wheel_tag in target.wheel_tags for arg in ("--platform", wheel_tag)]
        pip("download", "--quiet", "--no-deps", "--only-binary=:all:", "--require-hashes", *platforms,
            "--python-version", f"{python[0]}.{python[1]}", "--implementation", "cp", "--abi", f"cp{tag}",
            "--dest", str(folder), "-r", str(requirements))
        locked = {line.split("sha256:", 1)[1].split()[0] for entry in entries for line in entry.splitlines()
                  if "sha256:" in line}
        chosen = [path for path in sorted(folder.glob("*.whl")) if sha256(path) in locked]
        if len(chosen) != len(entries):
            raise RuntimeError(f"expected {len(entries)} wheels for Python {python[0]}.{python[1]} in {folder}, "
                               f"found {len(chosen)} with a locked hash")
        wheels.update((path.name, path) for path in chosen)
    return wheels


def source_files() -> list[str]:
    """The files of this checkout that git knows or would add (not ignored ones: no build/ leftovers, no caches)."""
    found = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True)
    return [name for name in found.stdout.splitlines() if (REPO / name).is_file()]


def build_lipalign_wheel(scratch: Path, epoch: int) -> Path:
    """LipAlign itself as a wheel, built from a clean copy of the source, its files dated at the commit
    (SOURCE_DATE_EPOCH): setuptools would otherwise package whatever an earlier build left in build/."""
    source = scratch / "source"
    for name in source_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, source / name)
    out = scratch / "lipalign-wheel"
    environment = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch)}
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(out), str(source)], check=True, env=environment)
    return next(out.glob("lipalign-*.whl"))


def write_bundle(path: Path, files: dict[str, bytes | Path], epoch: int) -> None:
    """A zip of ``files`` (name -> bytes or a file), sorted, every entry dated ``epoch``: the same inputs give
    the same bytes. Wheels are stored (already compressed), the rest deflated."""
    stamp = time.gmtime(max(epoch, 315532800))[:6]  # zip cannot date before 1980
    partial = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_STORED if name.endswith(".whl") else zipfile.ZIP_DEFLATED
            content = files[name]
            archive.writestr(info, content if isinstance(content, bytes) else content.read_bytes())
    os.replace(partial, path)


def sha256(content: bytes | Path) -> str:
    digest = hashlib.sha256()
    if isinstance(content, bytes):
        digest.update(content)
    else:
        with open(content, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def build(target: Platform, out: Path, cache: Path, pythons: list[tuple[int, int]]) -> Path:
    """Build the bundle for ``target`` into ``out``; return its path."""
    epoch = source_epoch()
    out.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        wheels = download_wheels(target, pythons, cache, scratch)
        own = build_lipalign_wheel(scratch, epoch)
        files: dict[str, bytes | Path] = {f"wheels/{name}": path for name, path in wheels.items()}
        files[f"wheels/{own.name}"] = own
        for name in (*INSTALLER_FILES, *LAUNCHERS):
            files[name] = REPO / name
        files["requirements.lock"] = RUNTIME_LOCK
        files["__main__.py"] = ZIP_MAIN.encode()
        files["BUNDLE.json"] = (json.dumps({
            "schema": BUNDLE_SCHEMA, "version": version(), "platform": target.name, "commit": commit(),
            "pythons": [f"{a}.{b}" for a, b in pythons], "lipalign_wheel": own.name}, indent=2) + "\n").encode()
        files["SHA256SUMS"] = "".join(f"{sha256(content)}  {name}\n"
                                      for name, content in sorted(files.items())).encode()
        path = out / f"lipalign-{version()}-{target.name}.zip"
        write_bundle(path, files, epoch)
    return path


def parse_python(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    found = (int(major), int(minor))
    if found not in SUPPORTED:
        raise argparse.ArgumentTypeError(f"Python {text} is not one the manifest allows "
                                         f"({', '.join(f'{a}.{b}' for a, b in SUPPORTED)})")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--platform", choices=sorted(PLATFORMS), help="the target (default: this machine's)")
    parser.add_argument("-o", "--output", type=Path, default=REPO / "dist", help="folder for the zip (default ./dist)")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "lipalign-bundle-wheels",
                        help="where downloaded wheels are kept between builds")
    parser.add_argument("--python", dest="pythons", type=parse_python, action="append",
                        help="only this Python version (repeatable; default: every one the manifest allows)")
    args = parser.parse_args(argv)
    try:
        target = PLATFORMS[args.platform] if args.platform else this_platform()
    except ValueError as exc:
        parser.error(str(exc))
    try:
        path = build(target, args.output, args.cache, args.pythons or list(SUPPORTED))
    except subprocess.CalledProcessError as exc:
        print(f"lipalign: the bundle build failed at: {' '.join(exc.cmd)}", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(f"lipalign: {exc}", file=sys.stderr)
        return 1
    print(f"{path} ({path.stat().st_size / 1e6:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
