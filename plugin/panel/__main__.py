"""Open the LipAlign panel: ``python -m plugin.panel``, started by the menu entry inside Resolve.

    python -m plugin.panel [--scope S] [--strategy S] [--tolerance T] [--search-ms N] [--min-confidence C]
                           [--render-folder DIR] [--log PATH] [--summary PATH] [--revert] [--external]
    python -m plugin.panel --demo [--run STEPS] [--screenshot PATH]

The settings options are the top layer over the studio's and the user's settings files (:mod:`core.settings`):
an option left out shows the files' value, one the studio locks is refused (exit 2), and what the editor changes
is saved to the user file. Resolve is reached through the menu script's bridge (the default), or by external
scripting (``--external``, Studio). ``--revert`` is the menu's "Revert LipAlign changes" entry: the panel opens
and asks to revert the current timeline. ``--demo`` opens on a demo timeline (see :mod:`plugin.panel.demo`) and
measures it, saving the editor's choices in a temporary folder instead of their settings.

``--run measure,apply`` (steps: measure, apply, revert) presses those buttons in turn with the default ticks,
answers yes to the revert question, and closes the panel when the last step is done (or one fails: exit 1);
``--screenshot PATH`` saves a PNG of the window just before. Without a display, set ``QT_QPA_PLATFORM=offscreen``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from core.errors import MediaError
from core.settings import Setting
from core.stopping import Stopped, stop_requested, stop_signals_handled, stops_held
from plugin.bridge import BridgeError, RemoteResolve, worker_channel
from plugin.panel.instance import PanelInstance, bring_forward
from plugin.panel.look import use_dark_look
from plugin.panel.window import PanelWindow
from plugin.resolve_api import ResolveUnsupported, check_support
from plugin.run_settings import add_setting_arguments, configured

EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2
STEPS = ("measure", "apply", "revert")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m plugin.panel", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_setting_arguments(parser)
    parser.add_argument("--log", help="this run's log file, for Open log")
    parser.add_argument("--summary", help="also write each apply's or revert's summary JSON here")
    parser.add_argument("--revert", action="store_true", help="open and ask to revert the current timeline")
    parser.add_argument("--external", action="store_true", help="reach Resolve Studio by external scripting")
    parser.add_argument("--demo", action="store_true", help="open on a demo timeline of synthetic clips")
    parser.add_argument("--run", type=_steps, help="press these buttons in turn, then close: measure,apply,revert")
    parser.add_argument("--screenshot", type=Path, help="save the window as PNG before closing after --run")
    args = parser.parse_args(argv)
    if args.demo and args.run is None and args.screenshot:
        args.run = ["measure"]
    if args.screenshot and args.run is None:
        parser.error("--screenshot needs --run (or --demo)")
    return args


def _steps(text: str) -> list[str]:
    steps = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in steps if s not in STEPS]
    if unknown or not steps:
        raise argparse.ArgumentTypeError(f"steps are {', '.join(STEPS)}, separated by commas, not {text!r}")
    return steps


def _connect(args: argparse.Namespace) -> tuple[Any, Any]:
    """The Resolve object, and how to tell the menu script about events (None when there is no menu script)."""
    if args.demo:
        from plugin.panel.demo import open_demo

        return open_demo(), None
    if args.external:
        from plugin.external import connect

        return connect(), None
    client = RemoteResolve.from_environment(*worker_channel())
    return client, client.notify


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # The demo never touches the editor's remembered settings: it keeps its own in a temporary folder.
    user_path = Path(tempfile.mkdtemp(prefix="lipalign-demo-")) / "settings.json" if args.demo else None
    try:
        settings = configured(args, user_path)
    except ValueError as exc:
        print(f"lipalign panel: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("LipAlign")
    app.setOrganizationName("LipAlign")
    use_dark_look(app)
    instance = PanelInstance()
    scripted = args.demo or args.run is not None  # a scripted panel runs beside an open one
    if not scripted and not instance.claim():
        print("lipalign panel: the LipAlign panel is already open; it was brought forward", file=sys.stderr)
        return EXIT_OK
    try:
        with stop_signals_handled():
            return _run(app, args, settings, user_path, instance)
    except Stopped as stop:
        print(f"lipalign panel: {stop}; the timeline was left whole", file=sys.stderr)
        return stop.exit_code
    finally:
        instance.release()


def _run(app: QApplication, args: argparse.Namespace, settings: dict[str, Setting], user_path: Path | None,
         instance: PanelInstance) -> int:
    emit = None
    try:
        resolve, emit = _connect(args)
        for note in check_support(resolve, external=args.external).notes:
            print(f"note: {note}", file=sys.stderr)
    except (ResolveUnsupported, BridgeError, MediaError) as exc:
        print(f"lipalign panel: {exc}", file=sys.stderr)
        if emit is not None:  # the menu script shows it in Resolve's console
            emit("error", message=str(exc))
        if args.run is None and not args.demo:  # an editor clicked: the console is usually closed
            QMessageBox.critical(None, "LipAlign", str(exc))
        return EXIT_REFUSED
    store = QSettings(str(user_path.with_name("demo.ini")), QSettings.Format.IniFormat) if user_path else QSettings()
    window = PanelWindow(resolve, store, settings, scope=args.scope, log_path=args.log, summary_path=args.summary,
                         user_path=user_path)
    instance.window = window
    if emit is not None:
        window.applied.connect(lambda summary: emit("done", summary=summary))
        window.reverted.connect(lambda summary: emit("done", summary=summary))
        window.stopped.connect(lambda message: emit("log", text=message))
    script = Script(window, args.run or [], screenshot=args.screenshot)
    if args.demo and args.run is None:
        QTimer.singleShot(0, window.measure)
    elif args.revert and args.run is None:
        QTimer.singleShot(0, window.revert)
    else:
        QTimer.singleShot(0, script.next_step)
    bring_forward(window)
    # Python runs signal handlers only between its own instructions, never inside Qt's event loop: a timer gives
    # it that chance, and the stop is held until the window has closed (a running edit finishes first).
    timer = QTimer()
    timer.timeout.connect(lambda: stop_requested() and window.close())
    timer.start(200)
    with stops_held():
        app.exec()
    return EXIT_FAILED if script.failed else EXIT_OK


class Script:
    """Presses the panel's buttons in turn (``--run``), each when the one before has ended; then closes it."""

    def __init__(self, window: PanelWindow, steps: list[str], screenshot: Path | None = None) -> None:
        self.window, self.steps, self.screenshot = window, list(steps), screenshot
        self.failed = False
        if not self.steps:
            return
        window.confirm = lambda title, question: True
        for signal in (window.measured, window.applied, window.reverted):
            signal.connect(lambda _: QTimer.singleShot(0, self.next_step))
        window.stopped.connect(self._stopped)

    def next_step(self) -> None:
        if self.window.closing:
            return
        if not self.steps:
            return self._finish() if self.window.isVisible() else None
        step = self.steps.pop(0)
        {"measure": self.window.measure, "apply": self.window.apply, "revert": self.window.revert}[step]()

    def _stopped(self, message: str) -> None:
        print(f"lipalign panel: {message}", file=sys.stderr)
        self.failed, self.steps = True, []
        self._finish()

    def _finish(self) -> None:
        if self.screenshot:
            QApplication.processEvents()
            self.window.grab().save(str(self.screenshot))
            print(f"screenshot: {self.screenshot}")
        self.window.close()


if __name__ == "__main__":
    sys.exit(main())
