#!/usr/bin/env python3
"""Install LipAlign and its entry in DaVinci Resolve's Scripts menu (standard library only).

Studios, from the offline bundle (installer/build_bundle.py), with no network:

    python3 lipalign-VERSION-PLATFORM.zip [--all-users] [--prefix DIR] [--quiet]   # = --bundle THAT.zip
    python3 installer/install_resolve.py --bundle ZIP [--all-users] [--prefix DIR] [--entry auto|python|lua]
    python3 installer/install_resolve.py --uninstall [--all-users] [--prefix DIR]

Developers, from this checkout and its environment:

    python3 installer/install_resolve.py --env .venv --dev     # build or refresh .venv, point Resolve at the checkout
    python3 installer/install_resolve.py --python PATH         # an existing LipAlign environment, as it is

Per user (default) LipAlign goes to the user's application folder and Resolve's per-user Scripts folder; with
``--all-users`` (administrators) to the machine's, and the studio configuration is created if there is none
(core/locations.py lists the folders). Installing over an install upgrades it in place: a new environment is
built beside the old one, the entry switches to it, the old one is removed, and the configuration is kept.
Everything the install creates is listed in ``receipt.json`` in the install folder; ``--uninstall`` removes
exactly that. Installed files belong to the installing account and no one else can write them; the entry refuses
to start code another account could have changed.

The entry: a Python menu script when Resolve has a Python 3 to run it, else a Lua one (Resolve always runs Lua)
that starts the same script with LipAlign's own Python, which then reaches Resolve Studio by external scripting.
``--entry`` overrides the choice.

Exit codes (for deployment tools; each run also writes a log, ``--log`` to choose where): 0 done; 1 failed while
installing, the previous install left as it was; 2 refused before anything changed (bad arguments, a damaged
bundle or one for another platform, no administrator rights for ``--all-users``, no Python the bundle serves).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import REPO, ensure_env, env_python
from platforms import this_platform

sys.path.insert(0, str(REPO))
from core import locations  # standard library only, like this installer
from core.host import menu_script_python
from core.version import MANIFEST

ENTRY_CONFIG = "LipAlign.config.json"  # the menu script reads this name beside itself
RECEIPT = "receipt.json"
RECEIPT_SCHEMA = "lipalign.receipt/1"
MENU_SCRIPTS = [MANIFEST[entry]["script"] for entry in ("menu", "revert_menu")]  # plugin/menu/<label>.py
LUA_LAUNCHER = "plugin/menu/launcher.lua"  # installed once per menu script, under the script's name
LUA_MARK = "@"  # its placeholders: @PYTHON@, @SCRIPT@


class Refused(Exception):
    """Nothing was changed: bad arguments, a bundle that does not fit, missing rights (exit 2)."""


class Failed(Exception):
    """The install stopped part way; what it had built was removed (exit 1)."""


class Log:
    """Each step to the log file, and to the console unless ``quiet``."""

    def __init__(self, path: Path, quiet: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.quiet = quiet
        self.handle = open(path, "a", encoding="utf-8")  # noqa: SIM115 (open for the whole run)

    def __call__(self, text: str) -> None:
        self.handle.write(f"{datetime.datetime.now().isoformat(timespec='seconds')} {text}\n")
        self.handle.flush()
        if not self.quiet:
            print(text, flush=True)


@dataclass
class Target:
    """Where one install goes."""

    scope: str  # "user" or "machine"
    prefix: Path  # the install folder: environment, launcher, receipt
    scripts: Path  # Resolve's Utility scripts folder
    config: Path  # the configuration this scope owns (studio for the machine, the user's own otherwise)

    @property
    def launcher(self) -> Path:
        return self.prefix / "launcher"


@dataclass
class Receipt:
    """What an install created, so that uninstall removes exactly that."""

    version: str
    scope: str
    environment: str  # the environment folder in use (removed on upgrade and uninstall)
    files: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)  # created by the install; removed when empty

    @classmethod
    def read(cls, prefix: Path) -> Receipt | None:
        path = prefix / RECEIPT
        if not path.exists():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("schema") != RECEIPT_SCHEMA:
            raise Refused(f"{path} is not a LipAlign install receipt")
        return cls(data["version"], data["scope"], data["environment"], data["files"], data["folders"])

    def write(self, prefix: Path) -> None:
        record = {"schema": RECEIPT_SCHEMA, "version": self.version, "scope": self.scope,
                  "environment": self.environment, "files": sorted(set(self.files)),
                  "folders": sorted(set(self.folders))}
        write_file(prefix / RECEIPT, json.dumps(record, indent=2) + "\n")


# ---- files, rights ---------------------------------------------------------------------------------------------


def write_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a reader sees the old file or the new one), mode 0644."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(partial, 0o644)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def make_folders(path: Path, created: list[str]) -> None:
    """``mkdir -p`` that records each folder it made (so uninstall removes those, and only those)."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        folder.mkdir(mode=0o755)
        created.append(str(folder))


def lock_down(path: Path) -> None:
    """No one but the owner may write under ``path`` (the installing account owns what it created)."""
    if os.name == "nt":  # Program Files and the user's profile are guarded by their inherited ACLs
        return
    for folder, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            item = Path(folder) / name
            mode = item.lstat().st_mode
            if not stat.S_ISLNK(mode):
                item.chmod(stat.S_IMODE(mode) & ~0o022)
    path.chmod(stat.S_IMODE(path.stat().st_mode) & ~0o022)


def is_admin() -> bool:
    if os.name == "nt":
        import ctypes

        return bool(ctypes.windll.shell32.IsUserAnAdmin())
    return os.geteuid() == 0


# ---- the bundle -------------------------------------------------------------------------------------------------


@dataclass
class Bundle:
    path: Path
    info: dict

    @classmethod
    def open(cls, path: Path) -> Bundle:
        """Read and verify a bundle: every file's checksum, and that it is for this platform and version."""
        try:
            with zipfile.ZipFile(path) as archive:
                sums = dict(line.split("  ", 1)[::-1] for line in
                            archive.read("SHA256SUMS").decode().splitlines() if line)
                for name, expected in sums.items():
                    digest = hashlib.sha256()
                    with archive.open(name) as member:
                        for chunk in iter(lambda m=member: m.read(1 << 20), b""):
                            digest.update(chunk)
                    if digest.hexdigest() != expected:
                        raise Refused(f"the bundle {path} is damaged: {name} does not match its checksum")
                info = json.loads(archive.read("BUNDLE.json"))
        except (OSError, KeyError, zipfile.BadZipFile, ValueError) as exc:
            raise Refused(f"{path} is not a readable LipAlign bundle ({exc})") from None
        platform = this_platform().name
        if info["platform"] != platform:
            raise Refused(f"the bundle is for {info['platform']}; this machine needs the {platform} bundle")
        return cls(path, info)

    @property
    def version(self) -> str:
        return self.info["version"]

    def extract(self, folder: Path) -> None:
        with zipfile.ZipFile(self.path) as archive:
            archive.extractall(folder)


def bundle_interpreter(bundle: Bundle, everyone: bool) -> str:
    """A Python of this machine that the bundle has wheels for and that can make an environment: this one if it
    fits, else the newest found on PATH. For an all-users install, only one every account can run."""
    versions = sorted(bundle.info["pythons"], key=lambda v: tuple(map(int, v.split("."))), reverse=True)
    found = [sys.executable] if f"{sys.version_info[0]}.{sys.version_info[1]}" in versions else []
    found += [str(Path(folder) / f"python{version}") for version in versions for folder in os.get_exec_path()
              if (Path(folder) / f"python{version}").is_file()]
    for candidate in found:
        # A version manager's shim may be on PATH and refuse to run, and some systems ship Python without venv.
        if subprocess.run([candidate, "-c", "import ensurepip, venv"], capture_output=True).returncode != 0:
            continue
        if everyone and not runnable_by_everyone(Path(os.path.realpath(candidate))):
            continue
        return candidate
    whose = "every account can run" if everyone else "runs"
    raise Refused(f"LipAlign needs Python {' or '.join(versions)} (64-bit, with venv) that {whose} on this machine "
                  "(python.org's, or the system's packages); install one and run the installer again")


def runnable_by_everyone(interpreter: Path) -> bool:
    """Others may run ``interpreter``: it and every folder above it are open to them (a Python in root's or a
    user's home is not, and an all-users environment made from it would start for no one else)."""
    if os.name == "nt":
        return True
    if not interpreter.stat().st_mode & stat.S_IXOTH:
        return False
    return all(folder.stat().st_mode & stat.S_IXOTH for folder in interpreter.parents)


def build_environment(interpreter: str, bundle: Bundle, unpacked: Path, environment: Path, log: Log) -> Path:
    """A new environment at ``environment`` made by ``interpreter`` with every wheel of the unpacked bundle, and
    nothing else (no network)."""
    log(f"environment: {environment} (Python {interpreter})")
    run([interpreter, "-m", "venv", str(environment)], log)
    python = env_python(environment)
    pip = [str(python), "-m", "pip", "--disable-pip-version-check", "--no-input", "install", "--quiet",
           "--no-index", "--find-links", str(unpacked / "wheels"), "--no-deps"]
    run([*pip, "--require-hashes", "-r", str(unpacked / "requirements.lock")], log)
    run([*pip, str(unpacked / "wheels" / bundle.info["lipalign_wheel"])], log)
    run([str(python), "-m", "pip", "--disable-pip-version-check", "check"], log)
    run([str(python), "-c", "import core.cli, plugin.bridge"], log)
    return python


def run(command: list[str], log: Log) -> None:
    log("+ " + " ".join(command))
    # pip must not read a user's or the machine's pip configuration (an index, a proxy): the bundle is the source.
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1"}
    env.pop("PIP_FIND_LINKS", None)
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.stdout.strip():
        log(done.stdout.strip())
    if done.returncode != 0:
        log(done.stderr.strip())
        raise Failed(f"{Path(command[0]).name} {' '.join(command[1:3])} failed (exit {done.returncode}); see the log")


# ---- the entry in Resolve ---------------------------------------------------------------------------------------


def choose_entry(requested: str, root: Path | None, log: Log) -> str:
    """"python" when Resolve has a Python 3 to run a .py menu script, else "lua" (or what was asked for)."""
    if requested != "auto":
        return requested
    found = menu_script_python(root=root)
    log(f"Resolve's Python for menu scripts: {found.path or 'none'} ({found.source}): {found.reason}")
    return "python" if found.usable else "lua"


def write_launcher(target: Target, python: Path, code: Path, version: str, entry: str, source: Path,
                   receipt: Receipt) -> None:
    """The menu scripts and their configuration in the install folder: what every entry runs."""
    config = {"home": str(target.prefix), "python": str(python), "code": str(code), "scope": target.scope,
              "version": version, "entry": entry}
    make_folders(target.launcher, receipt.folders)
    for script in MENU_SCRIPTS:
        installed = target.launcher / Path(script).name
        write_file(installed, (source / script).read_text(encoding="utf-8"))
        receipt.files.append(str(installed))
    write_file(target.launcher / ENTRY_CONFIG, json.dumps(config, indent=2) + "\n")
    receipt.files.append(str(target.launcher / ENTRY_CONFIG))


def write_entry(target: Target, python: Path, entry: str, source: Path, receipt: Receipt, log: Log) -> None:
    """Resolve's menu entries: copies of the Python scripts (reading the configuration in the install folder), or
    Lua scripts that run them with LipAlign's Python."""
    make_folders(target.scripts, receipt.folders)
    for script in MENU_SCRIPTS:
        launcher = target.launcher / Path(script).name
        if entry == "python":
            name, text = Path(script).name, (source / script).read_text(encoding="utf-8").replace(
                "CONFIG_FOLDER = None", f"CONFIG_FOLDER = {str(target.launcher)!r}", 1)
        else:
            name = Path(script).with_suffix(".lua").name
            text = (source / LUA_LAUNCHER).read_text(encoding="utf-8").replace(
                f"{LUA_MARK}PYTHON{LUA_MARK}", str(python)).replace(f"{LUA_MARK}SCRIPT{LUA_MARK}", str(launcher))
        write_file(target.scripts / name, text)
        receipt.files.append(str(target.scripts / name))
        log(f"entry: {target.scripts / name}")
    # An entry of the other kind from an earlier install would list the command twice.
    other = ".lua" if entry == "python" else ".py"
    for script in MENU_SCRIPTS:
        stale = target.scripts / Path(script).with_suffix(other).name
        if str(stale) in receipt.files:
            stale.unlink(missing_ok=True)
            receipt.files.remove(str(stale))


def write_default_config(target: Target, receipt: Receipt, log: Log) -> None:
    """The scope's configuration file, created with nothing set when there is none (an existing one is kept)."""
    if target.config.exists():
        log(f"configuration kept: {target.config}")
        return
    make_folders(target.config.parent, receipt.folders)
    record = {"settings": {}, "locked": []} if target.scope == "machine" else {"settings": {}}
    write_file(target.config, json.dumps(record, indent=2) + "\n")
    receipt.files.append(str(target.config))
    log(f"configuration created: {target.config} (see the README's Studio configuration)")


def site_packages(python: Path) -> Path:
    """The folder the environment's packages are in (where the menu script imports the bridge from)."""
    found = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                           capture_output=True, text=True, check=True)
    return Path(found.stdout.strip())


# ---- install, uninstall -----------------------------------------------------------------------------------------


def install_bundle(bundle: Bundle, target: Target, entry: str, log: Log) -> None:
    """Install (or upgrade in place) from ``bundle``; the previous install keeps working until the switch."""
    previous = Receipt.read(target.prefix)
    if previous and previous.scope != target.scope:
        raise Refused(f"{target.prefix} holds a {previous.scope} install; uninstall it first")
    receipt = previous or Receipt(bundle.version, target.scope, "")
    interpreter = bundle_interpreter(bundle, everyone=target.scope == "machine")
    made_before = len(receipt.folders)
    log(("upgrading LipAlign " + previous.version + " to " if previous else "installing LipAlign ") +
        f"{bundle.version} for {'all users' if target.scope == 'machine' else 'this user'} in {target.prefix}")
    make_folders(target.prefix, receipt.folders)
    environment = target.prefix / f"env-{bundle.version}-{datetime.datetime.now():%Y%m%d%H%M%S%f}"
    try:
        with tempfile.TemporaryDirectory(dir=target.prefix, prefix=".bundle-") as unpacked_name:
            unpacked = Path(unpacked_name)
            bundle.extract(unpacked)
            python = build_environment(interpreter, bundle, unpacked, environment, log)
            write_launcher(target, python, site_packages(python), bundle.version, entry, unpacked, receipt)
            write_entry(target, python, entry, unpacked, receipt, log)
    except BaseException:
        shutil.rmtree(environment, ignore_errors=True)
        if previous is None:  # leave the machine as it was: no entry, no empty folders
            for name in receipt.files:
                Path(name).unlink(missing_ok=True)
            for folder in reversed(receipt.folders[made_before:]):
                if folder == str(target.prefix):  # made by this run: whatever is in it is a partial install
                    shutil.rmtree(folder, ignore_errors=True)
                else:
                    remove_if_empty(folder)
        raise
    old = receipt.environment
    receipt.version, receipt.environment = bundle.version, str(environment)
    write_default_config(target, receipt, log)
    lock_down(target.prefix)
    receipt.write(target.prefix)
    if old and old != str(environment):
        shutil.rmtree(old, ignore_errors=True)
        log(f"removed the previous environment {old}")
    log(f"installed LipAlign {bundle.version}: restart DaVinci Resolve, then Workspace > Scripts > Auto-align lips")


def install_checkout(target: Target, python: Path, entry: str, log: Log) -> None:
    """Point Resolve at this checkout and an environment that has it (developers); the environment stays theirs."""
    receipt = Receipt.read(target.prefix) or Receipt(MANIFEST["version"], target.scope, "")
    make_folders(target.prefix, receipt.folders)
    write_launcher(target, python, REPO, MANIFEST["version"], entry, REPO, receipt)
    write_entry(target, python, entry, REPO, receipt, log)
    receipt.write(target.prefix)
    log(f"installed the checkout {REPO}: restart DaVinci Resolve, then Workspace > Scripts > Auto-align lips")


def uninstall(target: Target, log: Log) -> None:
    """Remove what the receipt lists (files, the environment, then the folders the install made, if empty)."""
    receipt = Receipt.read(target.prefix)
    if receipt is None:
        raise Refused(f"no LipAlign install in {target.prefix} (no {RECEIPT})")
    for name in receipt.files:
        Path(name).unlink(missing_ok=True)
        log(f"removed {name}")
    if receipt.environment:
        shutil.rmtree(receipt.environment, ignore_errors=True)
        log(f"removed {receipt.environment}")
    (target.prefix / RECEIPT).unlink()
    for folder in sorted(receipt.folders, key=lambda f: len(Path(f).parts), reverse=True):
        log(f"removed {folder}" if remove_if_empty(folder) else f"kept {folder} (not empty)")
    log("uninstalled LipAlign")


def remove_if_empty(folder: str) -> bool:
    """Remove a folder the install made unless something not ours (a user's own files) is in it."""
    try:
        Path(folder).rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


# ---- the command ------------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bundle", type=Path, help="install from this offline bundle (no network)")
    parser.add_argument("--all-users", action="store_true", help="install for every user of the machine (admin)")
    parser.add_argument("--prefix", type=Path, help="the install folder (default: the platform's application folder)")
    parser.add_argument("--scripts-dir", type=Path, help="Resolve's scripts folder (default: the scope's Utility)")
    parser.add_argument("--root", type=Path, help="treat this folder as the file system root for machine-wide "
                        "paths (staging, tests)")
    parser.add_argument("--entry", choices=("auto", "python", "lua"), default="auto",
                        help="the kind of menu entry (default: python if Resolve has a Python 3, else lua)")
    parser.add_argument("--quiet", action="store_true", help="print only errors (the log has everything)")
    parser.add_argument("--log", type=Path, help="the log file (default: install-DATE.log in the scope's log folder)")
    parser.add_argument("--uninstall", action="store_true", help="remove what the install created")
    parser.add_argument("--env", type=Path, help="developers: build or refresh this environment for the checkout")
    parser.add_argument("--dev", action="store_true", help="developers: with --env, add the test tools")
    parser.add_argument("--python", type=Path, help="developers: use this existing environment's Python")
    return parser.parse_args(argv)


def target_for(args: argparse.Namespace) -> Target:
    scope = "machine" if args.all_users else "user"
    prefix = args.prefix or locations.app_folder(scope, root=args.root)
    scripts = args.scripts_dir or locations.scripts_folder(scope, root=args.root)
    config = locations.studio_config_path(root=args.root) if scope == "machine" else locations.user_config_path()
    return Target(scope, prefix.absolute(), scripts.absolute(), config.absolute())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    target = target_for(args)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    log_path = args.log or locations.log_folder(target.scope, root=args.root) / f"install-{stamp}.log"
    os.umask(0o022)  # what the install creates is writable by its owner only
    log = Log(log_path, args.quiet)
    try:
        if target.scope == "machine" and args.root is None and not is_admin():
            raise Refused("--all-users needs an administrator (run it with sudo, or as an administrator)")
        if args.uninstall:
            uninstall(target, log)
        elif args.bundle:
            install_bundle(Bundle.open(args.bundle.absolute()), target, choose_entry(args.entry, args.root, log), log)
        else:
            python = args.python.absolute() if args.python else ensure_env((args.env or REPO / ".venv").absolute(),
                                                                           args.dev)
            if not python.exists():
                raise Refused(f"no Python at {python}")
            install_checkout(target, python, choose_entry(args.entry, args.root, log), log)
    except Refused as exc:
        log(f"refused: {exc}")
        print(f"lipalign: {exc}", file=sys.stderr)
        return 2
    except (Failed, OSError, subprocess.CalledProcessError) as exc:
        log(f"failed: {exc}")
        print(f"lipalign: install failed: {exc} (log: {log.path})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
