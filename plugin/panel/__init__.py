"""The LipAlign panel: the window the "Auto-align lips" menu entry opens (PySide6, in LipAlign's own process).

:mod:`plugin.panel.window` is the window; :mod:`~plugin.panel.settings` what it remembers;
:mod:`~plugin.panel.table` and :mod:`~plugin.panel.plot` the review and the offset plot; :mod:`~plugin.panel.jobs`
runs the slow work off the window's thread; :mod:`~plugin.panel.instance` keeps one panel open at a time.
``python -m plugin.panel`` starts it (see :mod:`plugin.panel.__main__`).
"""
