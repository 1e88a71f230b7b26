"""LipAlign for DaVinci Resolve: Workspace > Scripts > Auto-align lips.

Resolve runs this file in whatever Python 3 it finds (3.6 or later) with the global ``resolve``. It
stays small and standard-library only: it finds LipAlign's own environment, starts the analysis
worker there as a child process, and lends it the ``resolve`` object over the worker's pipes (see
plugin/bridge.py, imported from the LipAlign folder so there is one copy of the protocol). Resolve's
UI stays free: menu scripts run in their own process, and this one only answers the worker's calls.
When Resolve has no Python, the Lua entry runs this same file with LipAlign's own Python; with no
``resolve`` global it then reaches Resolve Studio by external scripting (plugin/external.py).

The worker is the LipAlign panel (``python -m plugin.panel``): a window where the editor chooses the
settings, measures, reviews and applies. With the setting "mode" (studio or user configuration, see
``lipalign config``; $LIPALIGN_MODE for scripted runs) set to "headless" it is the windowless worker
(``python -m plugin.worker``). The "Revert LipAlign changes" entry runs this file with
``LIPALIGN_ACTION = "revert"``.

Where LipAlign lives: LipAlign.config.json in CONFIG_FOLDER (the installer writes it there; else beside
this script) names LipAlign's Python and code. The script refuses to start them when another account
could have changed them: the configuration, the Python or the code folder, or a folder above them, owned
by someone other than root or this user, or writable by group or others (a sticky folder such as /tmp
excepted). Developers may name a checkout with $LIPALIGN_HOME and $LIPALIGN_PYTHON instead (not checked:
they chose it). Logs go to the configured log folder, else a per-user one ($LIPALIGN_LOG_DIR to change).
$LIPALIGN_WORKER_ARGS adds options to the worker's command line (scripted runs, tests).
"""

import datetime
import json
import os
import secrets
import shlex
import stat
import subprocess
import sys

CONFIG_NAME = "LipAlign.config.json"
CONFIG_FOLDER = None  # the installer writes the install's launcher folder here in the copy it gives Resolve
MODES = ("panel", "headless")
LAST_SUMMARY = None


def config_folder():
    """Where LipAlign.config.json is: CONFIG_FOLDER, else this script's folder (None when Resolve gave no file)."""
    if CONFIG_FOLDER:
        return CONFIG_FOLDER
    path = globals().get("__file__")
    return os.path.dirname(os.path.abspath(path)) if path else None


def log_folder():
    """The per-user log folder, for when LipAlign cannot be asked (not installed, refused): the same folder as
    core.locations.log_folder("user"), which this script cannot import before it knows where LipAlign is."""
    if os.environ.get("LIPALIGN_LOG_DIR"):
        return os.environ["LIPALIGN_LOG_DIR"]
    home = os.path.expanduser("~")
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Logs", "LipAlign")
    if sys.platform.startswith("win"):
        return os.path.join(os.environ.get("LOCALAPPDATA", home), "LipAlign", "Logs")
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(home, ".local", "state")
    return os.path.join(state, "lipalign", "logs")


def unsafe_reason(path):
    """Why another account could have changed ``path`` (a string), or None when only root or this user can.

    Every folder from the root down, and the path itself, must belong to root or this user and be writable by
    no group or other; a sticky folder (like /tmp) is fine above the path, since others cannot replace what is
    in it. A symbolic link's own mode means nothing: its owner and folder are what count. Windows keeps rights
    in ACLs, which the install folder inherits (Program Files, the user's profile), so nothing is checked there.
    """
    if os.name == "nt":
        return None
    me = os.geteuid()
    path = os.path.abspath(path)
    chain = [path]
    while os.path.dirname(chain[-1]) != chain[-1]:
        chain.append(os.path.dirname(chain[-1]))
    for item in reversed(chain):
        try:
            info = os.lstat(item)
        except OSError:
            return "{} is missing".format(item)
        if info.st_uid not in (0, me):
            return "{} belongs to another account (uid {})".format(item, info.st_uid)
        if stat.S_ISLNK(info.st_mode):
            continue
        shared = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        sticky_folder = stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX and item != path
        if shared and not sticky_folder:
            return "{} can be changed by other accounts (mode {:o})".format(item, stat.S_IMODE(info.st_mode))
    return None


def load_config():
    """Where LipAlign's code and Python are: the developer's environment variables, else the install's config."""
    if os.environ.get("LIPALIGN_HOME"):
        code = os.environ["LIPALIGN_HOME"]
        venv = os.path.join(code, ".venv")
        default = os.path.join(venv, "Scripts", "python.exe") if os.name == "nt" else os.path.join(venv, "bin", "python")
        return {"code": code, "python": os.environ.get("LIPALIGN_PYTHON") or default}
    folder = config_folder()
    path = os.path.join(folder, CONFIG_NAME) if folder else None
    if not path or not os.path.exists(path):
        raise RuntimeError("LipAlign is not installed: run installer/install_resolve.py (no {} found{})".format(
            CONFIG_NAME, " in " + folder if folder else ""))
    with open(path, encoding="utf-8") as handle:
        config = json.load(handle)
    for checked in (path, config["python"], config["code"]):
        reason = unsafe_reason(checked)
        if reason:
            raise RuntimeError("refused to start LipAlign: {}; reinstall it (installer/install_resolve.py)".format(
                reason))
    if not os.path.exists(config["python"]):
        raise RuntimeError("LipAlign's Python is missing at {}: run the installer again".format(config["python"]))
    return {"code": config["code"], "python": config["python"]}


def effective_settings(config):
    """The studio's and the user's settings as LipAlign reads them (``lipalign config --json``): one rule, there."""
    found = subprocess.run([config["python"], "-m", "core.cli", "config", "--json"], cwd=config["code"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    if found.returncode != 0:
        raise ValueError((found.stderr.strip().splitlines() or ["lipalign config failed"])[-1])
    return {key: entry["value"] for key, entry in json.loads(found.stdout)["settings"].items()}


def worker_command(config, mode, action, log_path, summary_path):
    """The command that starts the panel (or, headless, the worker) for ``action`` ("align" or "revert")."""
    if mode not in MODES:
        raise ValueError("the mode must be one of {}, not {!r}".format(", ".join(MODES), mode))
    if mode == "headless":
        command = [config["python"], "-m", "plugin.worker", "--summary", summary_path]
    else:
        command = [config["python"], "-m", "plugin.panel", "--log", log_path, "--summary", summary_path]
    if action == "revert":
        command.append("--revert")
    return command + shlex.split(os.environ.get("LIPALIGN_WORKER_ARGS", ""))


def find_resolve(names):
    """The Resolve object: the ``resolve`` global, Fusion's ``bmd``/``app``, else external scripting (Studio).

    External scripting is what the Lua entry relies on; it needs LipAlign's code on the path (plugin.external
    knows Blackmagic's folders and says why a connection is refused).
    """
    if names.get("resolve") is not None:
        return names["resolve"]
    bmd = names.get("bmd")
    if bmd is not None:
        found = bmd.scriptapp("Resolve")
        if found is not None:
            return found
    app = names.get("app")
    if app is not None:
        found = app.GetResolve()
        if found is not None:
            return found
    from plugin.external import connect

    return connect()


class Log(object):
    """Timestamped lines to the log file, and to Resolve's console (this script's stdout)."""

    def __init__(self, path):
        self.path = path
        self.handle = open(path, "a", encoding="utf-8")

    def __call__(self, text, show=True):
        stamp = datetime.datetime.now().strftime("%H:%M:%S")
        self.handle.write("{} {}\n".format(stamp, text))
        self.handle.flush()
        if show:
            print("LipAlign: " + text)
            sys.stdout.flush()


def show_event(log):
    def on_event(event):
        op = event.get("op")
        if op == "progress":
            log("{:3.0f}% {}".format(100.0 * float(event.get("fraction", 0.0)), event.get("stage", "")))
        elif op == "error":
            log("stopped: " + str(event.get("message", "")))
        elif op == "log":
            log(str(event.get("text", "")))
        elif op == "done":
            log("finished")
    return on_event


def open_log(folder):
    if not os.path.isdir(folder):
        os.makedirs(folder)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Log(os.path.join(folder, "lipalign-{}.log".format(stamp))), stamp


def main(names, action="align"):
    """Run the panel (or the headless worker) against Resolve; return the last summary (None when none).

    ``names`` are the globals Resolve gave this script (``resolve``, ``bmd``, ``app``).
    """
    config, settings, problem = None, {}, None
    try:
        config = load_config()
        settings = effective_settings(config)
    except (RuntimeError, ValueError, OSError, subprocess.TimeoutExpired) as exc:
        problem = str(exc)
    try:
        log, stamp = open_log(settings.get("log_folder") or log_folder())
    except OSError as exc:
        log, stamp = open_log(log_folder())
        log("cannot log to the configured folder ({}); logging here".format(exc))
    log("log file " + log.path, show=False)
    if problem:
        log(problem)
        return None
    sys.path.insert(0, config["code"])
    try:
        resolve = find_resolve(names)
    except Exception as exc:  # plugin.external's refusal: no Studio, external scripting off
        log(str(exc))
        return None
    from plugin.bridge import TOKEN_ENV, BridgeServer

    token = secrets.token_hex(32)
    env = dict(os.environ)
    env[TOKEN_ENV] = token
    env["PYTHONPATH"] = config["code"] + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    summary_path = os.path.join(os.path.dirname(log.path), "summary-{}.json".format(stamp))
    try:
        command = worker_command(config, os.environ.get("LIPALIGN_MODE") or settings.get("mode", "panel"), action,
                                 log.path, summary_path)
    except ValueError as exc:
        log(str(exc))
        return None
    log("starting " + " ".join(command), show=False)
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log.handle,
                               cwd=config["code"], env=env, universal_newlines=True, encoding="utf-8", bufsize=1)
    summary = None
    try:
        summary = BridgeServer(resolve, token).serve(process.stdout, process.stdin, show_event(log))
    finally:
        process.stdin.close()
        code = process.wait()
    log("worker exited with code {}; summary {}".format(code, summary_path if summary else "none"), show=False)
    return summary


if __name__ == "__main__":
    LAST_SUMMARY = main(globals(), globals().get("LIPALIGN_ACTION", "align"))
