"""The panel's look: a dark palette close to Resolve's own, on Qt's Fusion style (the same on every platform).

Qt 6 scales for HiDPI screens by itself; sizes here are in device-independent pixels.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

__all__ = ["use_dark_look"]

COLOURS = {
    QPalette.ColorRole.Window: "#28282b", QPalette.ColorRole.WindowText: "#d8d8d8",
    QPalette.ColorRole.Base: "#1e1e20", QPalette.ColorRole.AlternateBase: "#252528",
    QPalette.ColorRole.Text: "#d8d8d8", QPalette.ColorRole.Button: "#343438",
    QPalette.ColorRole.ButtonText: "#e0e0e0", QPalette.ColorRole.Highlight: "#c2793a",
    QPalette.ColorRole.HighlightedText: "#ffffff", QPalette.ColorRole.ToolTipBase: "#343438",
    QPalette.ColorRole.ToolTipText: "#e0e0e0", QPalette.ColorRole.PlaceholderText: "#7a7a7a",
    QPalette.ColorRole.Link: "#5aaaff",
}


def use_dark_look(app: QApplication) -> None:
    app.setStyle("Fusion")
    palette = QPalette()
    for role, colour in COLOURS.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6a6a6a"))
    app.setPalette(palette)
