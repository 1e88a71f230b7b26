"""The offset of one clip over its time: each window's estimate sized by its confidence, the fitted offset and
drift, the tolerance band, and the part of the media the timeline uses. Drawn with pyqtgraph."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg

from plugin.review import ClipReview

__all__ = ["OffsetPlot"]

BAND_BRUSH = (76, 175, 80, 50)
USED_BRUSH = (120, 140, 200, 35)
POINT_BRUSH = (240, 160, 48, 220)
LINE_PEN = {"color": (90, 170, 255), "width": 2}


class OffsetPlot(pg.PlotWidget):
    """Shows one :class:`ClipReview` at a time (:meth:`show_row`); empty with a hint otherwise."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent, background=(30, 30, 32))
        self.setLabel("bottom", "media time", units="s")
        self.setLabel("left", "offset (ms, + audio late)")
        self.showGrid(x=True, y=True, alpha=0.2)
        self.setMenuEnabled(False)
        self.points: pg.ScatterPlotItem | None = None
        self.lines: list[pg.PlotDataItem] = []
        self.show_row(None)

    def show_row(self, row: ClipReview | None) -> None:
        self.clear()
        self.points, self.lines = None, []
        if row is None or not row.windows:
            self.setTitle(("no measurement to plot: " + row.verdict) if row is not None else "select a clip",
                          color="#aaaaaa", size="9pt")
            return
        self.setTitle(f"{row.clip}: {len(row.windows)} windows", color="#dddddd", size="9pt")
        early, late = row.band_ms
        self.addItem(pg.LinearRegionItem((early, late), orientation="horizontal", movable=False,
                                         brush=pg.mkBrush(*BAND_BRUSH), pen=pg.mkPen(None)))
        if row.used_s is not None:
            self.addItem(pg.LinearRegionItem(row.used_s, movable=False, brush=pg.mkBrush(*USED_BRUSH),
                                             pen=pg.mkPen(None)))
        times, offsets, confidence = (np.array(v, float) for v in zip(*row.windows, strict=True))
        self.points = pg.ScatterPlotItem(times, offsets, size=4 + 12 * np.clip(confidence, 0, 1),
                                         brush=pg.mkBrush(*POINT_BRUSH), pen=pg.mkPen(None))
        self.addItem(self.points)
        for line in row.lines:
            xs = np.array([line.start_s, line.end_s])
            self.lines.append(self.plot(xs, [line.at(x) for x in xs], pen=pg.mkPen(**LINE_PEN)))
        span = max(abs(early), abs(late), *(abs(o) for o in offsets)) * 1.3
        self.setYRange(-span, span)
