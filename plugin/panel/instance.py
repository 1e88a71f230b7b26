"""One panel at a time: a second click on the menu entry brings the open panel forward instead of a second one.

The open panel listens on a local socket named for the user; a new panel that can reach it asks it to come
forward and ends. Local sockets are per user (a Unix socket in the user's runtime folder, or a named pipe on
Windows), so two editors on one workstation each get their own panel.
"""

from __future__ import annotations

import getpass
import re
import sys

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QWidget

__all__ = ["PanelInstance", "bring_forward", "instance_name"]

RAISE = b"raise\n"
CONNECT_MS = 500


def instance_name() -> str:
    return "lipalign-panel-" + re.sub(r"[^A-Za-z0-9_.-]", "_", getpass.getuser())


def bring_forward(window: QWidget) -> None:
    """Show ``window`` above other applications' windows, Resolve's included.

    macOS and Windows keep a window that another process started behind the active application; holding
    it on top for a moment brings it forward there without keeping it above Resolve for good.
    """
    if window.isMinimized():
        window.showNormal()
    window.show()
    window.raise_()
    window.activateWindow()
    if sys.platform in ("darwin", "win32"):
        window.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, True)
        window.show()
        QTimer.singleShot(300, lambda: (window.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, False),
                                        window.show()))


class PanelInstance(QObject):
    """The open panel's listener. :meth:`claim` is False when another panel is open (and was asked forward)."""

    def __init__(self, name: str | None = None) -> None:
        super().__init__()
        self.name = name or instance_name()
        self.server = QLocalServer(self)
        self.window: QWidget | None = None

    def claim(self) -> bool:
        probe = QLocalSocket()
        probe.connectToServer(self.name)
        if probe.waitForConnected(CONNECT_MS):
            probe.write(RAISE)
            probe.waitForBytesWritten(CONNECT_MS)
            probe.disconnectFromServer()
            return False
        QLocalServer.removeServer(self.name)  # a panel that crashed leaves its socket file behind
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not self.server.listen(self.name):
            raise RuntimeError(f"cannot listen for a second panel: {self.server.errorString()}")
        self.server.newConnection.connect(self._on_connection)
        return True

    def _on_connection(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            socket.readyRead.connect(lambda s=socket: self._on_request(s))

    def _on_request(self, socket: QLocalSocket) -> None:
        if bytes(socket.readAll().data()).startswith(RAISE.strip()) and self.window is not None:
            bring_forward(self.window)
        socket.disconnectFromServer()

    def release(self) -> None:
        self.server.close()
