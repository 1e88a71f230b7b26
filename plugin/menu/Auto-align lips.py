"""LipAlign for DaVinci Resolve: Workspace > Scripts > Auto-align lips.

Resolve runs this file in whatever Python 3 it finds (3.6 or later) with the global ``resolve``. It
stays small and standard-library only: it finds LipAlign's own environment, starts the analysis
worker there as a child process, and lends it the ``resolve`` object over the worker's pipes (see
plugin/bridge.py, imported from the LipAlign folder so there is one copy of the protocol). Resolve's
UI stays free: menu scripts run in their own process, and this one only answers the worker's calls.

The worker is the LipAlign panel (``python -m plugin.panel``): a window where the editor chooses the
settings, measures, reviews and applies. With the config's "mode" (or $LIPALIGN_MODE) set to "headless"
it is the windowless worker (``python -m plugin.worker``) instead, for scripted runs. The "Revert LipAlign
changes" entry runs this file with ``LIPALIGN_ACTION = "revert"``.

Where LipAlign lives: $LIPALIGN_HOME (the LipAlign folder) or the "repo" key of LipAlign.config.json
beside this script (written by installer/install_resolve.py); the worker's Python is $LIPALIGN_PYTHON,
the config's "python", or the folder's .venv. Logs go to a per-user folder ($LIPALIGN_LOG_DIR to change).
The studio's defaults (e.g. "--strategy slip", "--tolerance ebu-r37") come from the config's
"worker_args" list or $LIPALIGN_WORKER_ARGS; the config's "render_folder" names where corrected audio is
written.
"""

import datetime
import json
import os
import secrets
import shlex
import subprocess
import sys

CONFIG_NAME = "LipAlign.config.json"
MODES = ("panel", "headless")
LAST_SUMMARY = None


def script_folder():
    """The folder of this script; Resolve may run it without __file__, so fall back to the Scripts folder."""
    path = globals().get("__file__")
    if path:
        return os.path.dirname(os.path.abspath(path))
    return user_scripts_folder()


def user_scripts_folder():
    home = os.path.expanduser("~")
    if sys.platform == "darwin":
        base = os.path.join(home, "Library", "Application Support", "Blackmagic Design", "DaVinci Resolve")
    elif sys.platform.startswith("win"):
        # %APPDATA% already ends in Roaming (resolve-api.md section 2)
        base = os.path.join(os.environ.get("APPDATA", home), "Blackmagic Design", "DaVinci Resolve", "Support")
    else:
        base = os.path.join(home, ".local", "share", "DaVinciResolve")
    return os.path.join(base, "Fusion", "Scripts", "Utility")


def log_folder():
    if os.environ.get("LIPALIGN_LOG_DIR"):
        return os.environ["LIPALIGN_LOG_DIR"]
    home = os.path.expanduser("~")
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Logs", "LipAlign")
    if sys.platform.startswith("win"):
        return os.path.join(os.environ.get("LOCALAPPDATA", home), "LipAlign", "Logs")
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(home, ".local", "state")
    return os.path.join(state, "lipalign", "logs")


def load_config():
    """Where LipAlign and its Python are, from the environment, then the config file beside this script."""
    config = {}
    path = os.path.join(script_folder(), CONFIG_NAME)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    repo = os.environ.get("LIPALIGN_HOME") or config.get("repo")
    if not repo:
        raise RuntimeError("LipAlign is not installed: run installer/install_resolve.py (no {} beside this script "
                           "and no LIPALIGN_HOME)".format(CONFIG_NAME))
    python = os.environ.get("LIPALIGN_PYTHON") or config.get("python")
    if not python:
        venv = os.path.join(repo, ".venv")
        python = os.path.join(venv, "Scripts", "python.exe") if os.name == "nt" else os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        raise RuntimeError("LipAlign's Python is missing at {}: run installer/install_resolve.py again".format(python))
    worker_args = list(config.get("worker_args", []))
    if os.environ.get("LIPALIGN_WORKER_ARGS"):
        worker_args = shlex.split(os.environ["LIPALIGN_WORKER_ARGS"])
    if config.get("render_folder"):  # corrected audio goes here instead of the project's cache folder
        worker_args += ["--render-folder", config["render_folder"]]
    mode = os.environ.get("LIPALIGN_MODE") or config.get("mode") or "panel"
    if mode not in MODES:
        raise ValueError("the config's mode must be one of {}, not {!r}".format(", ".join(MODES), mode))
    return {"repo": repo, "python": python, "worker_args": worker_args, "mode": mode}


def worker_command(config, action, log_path, summary_path):
    """The command that starts the panel (or, headless, the worker) for ``action`` ("align" or "revert")."""
    if config["mode"] == "headless":
        command = [config["python"], "-m", "plugin.worker", "--summary", summary_path]
    else:
        command = [config["python"], "-m", "plugin.panel", "--log", log_path, "--summary", summary_path]
    if action == "revert":
        command.append("--revert")
    return command + config["worker_args"]


def find_resolve(names):
    """The Resolve object: the ``resolve`` global, Fusion's ``bmd``/``app``, or external scripting."""
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
    try:
        import DaVinciResolveScript
    except ImportError:
        return None
    return DaVinciResolveScript.scriptapp("Resolve")


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


def main(resolve, action="align"):
    """Run the panel (or the headless worker) against ``resolve``; return the last summary (None when none)."""
    folder = log_folder()
    if not os.path.isdir(folder):
        os.makedirs(folder)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    log = Log(os.path.join(folder, "lipalign-{}.log".format(stamp)))
    log("log file " + log.path, show=False)
    if resolve is None:
        log("no Resolve object: run this from Workspace > Scripts inside DaVinci Resolve")
        return None
    try:
        config = load_config()
    except (RuntimeError, ValueError) as exc:
        log(str(exc))
        return None
    sys.path.insert(0, config["repo"])
    from plugin.bridge import TOKEN_ENV, BridgeServer

    token = secrets.token_hex(32)
    env = dict(os.environ)
    env[TOKEN_ENV] = token
    env["PYTHONPATH"] = config["repo"] + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    summary_path = os.path.join(folder, "summary-{}.json".format(stamp))
    command = worker_command(config, action, log.path, summary_path)
    log("starting " + " ".join(command), show=False)
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log.handle,
                               cwd=config["repo"], env=env, universal_newlines=True, encoding="utf-8", bufsize=1)
    summary = None
    try:
        summary = BridgeServer(resolve, token).serve(process.stdout, process.stdin, show_event(log))
    finally:
        process.stdin.close()
        code = process.wait()
    log("worker exited with code {}; summary {}".format(code, summary_path if summary else "none"), show=False)
    return summary


if __name__ == "__main__":
    LAST_SUMMARY = main(find_resolve(globals()), globals().get("LIPALIGN_ACTION", "align"))
