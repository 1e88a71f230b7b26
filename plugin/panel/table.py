"""The review table: one row per timeline item, tickable where ticking can change something.

A Qt model over :class:`plugin.review.ClipReview` rows and a proxy that sorts by value (not by the text shown)
and filters by verdict.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor

from plugin.audit import LEGEND
from plugin.review import ClipReview

__all__ = ["CLIP_COLOURS", "COLUMNS", "VERDICT_COLOURS", "ReviewModel", "VerdictFilter"]

Index = QModelIndex | QPersistentModelIndex

# (heading, what the cell shows, what it sorts by)
COLUMNS: tuple[tuple[str, Any, Any], ...] = (
    ("", lambda r: "", lambda r: (r.ticked, r.tickable)),
    ("Clip", lambda r: r.clip, lambda r: r.clip.lower()),
    ("Track", lambda r: " ".join((r.track, *r.audio_tracks)), lambda r: (r.track, r.audio_tracks)),
    ("Record in", lambda r: r.timecode_in, lambda r: r.record_in),
    ("Record out", lambda r: r.timecode_out, lambda r: r.record_out),
    ("Offset ms", lambda r: _number(r.offset_ms, "{:+.0f}"), lambda r: _sortable(r.offset_ms)),
    ("Frames", lambda r: _number(r.offset_frames, "{:+.1f}"), lambda r: _sortable(r.offset_frames)),
    ("Drift ms/min", lambda r: _number(r.drift_ms_per_min, "{:+.1f}"), lambda r: _sortable(r.drift_ms_per_min)),
    ("Confidence", lambda r: _number(r.confidence, "{:.0%}"), lambda r: _sortable(r.confidence)),
    ("Verdict", lambda r: r.verdict.replace("_", " "), lambda r: r.verdict),
    ("Action", lambda r: _action(r), lambda r: _action(r)),
    ("Reason", lambda r: r.reason, lambda r: r.reason),
)
VERDICT_COLUMN = 9

# Resolve's clip colours as the timeline shows them, for the outcome legend (plugin.audit.LEGEND names them).
CLIP_COLOURS = {"Orange": "#e8841a", "Green": "#4caf50", "Yellow": "#e2c33b", "Pink": "#e05fa0", "Violet": "#9b6bd6",
                "Tan": "#b59a6e", "Chocolate": "#8b5a2b"}
ACTION_COLUMN = 10

# Green within tolerance, amber out of sync, grey where LipAlign cannot say.
VERDICT_COLOURS = {"in_sync": "#4caf50", "offset": "#f0a030", "drift": "#f0a030", "inconclusive": "#8a8a8a",
                   "skipped": "#8a8a8a", "not measured": "#8a8a8a"}


def _number(value: float | None, form: str) -> str:
    return "" if value is None else form.format(value)


def _sortable(value: float | None) -> float:
    return float("-inf") if value is None else float(value)


def _action(row: ClipReview) -> str:
    if row.outcome:  # after an apply: what was done, named as the timeline's legend names it
        done = "left" if row.action in ("", "none") else row.action
        return f"{done}: {row.outcome.replace('_', ' ')}"
    return "" if row.planned == "none" else f"{row.planned} (planned)"


class ReviewModel(QAbstractTableModel):
    """The rows of a review; the first column's check box is the editor's choice for that clip."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[ClipReview] = []
        self.locked = False  # after an apply, the ticks record what was chosen and no longer change

    def set_rows(self, rows: list[ClipReview], *, locked: bool = False) -> None:
        self.beginResetModel()
        self.rows, self.locked = list(rows), locked
        self.endResetModel()

    def ticked_keys(self) -> set[str]:
        return {r.key for r in self.rows if r.ticked}

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's own default)
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole and section == 0:
            return "ticked clips are changed by Apply"
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[column][1](row)
        if role == Qt.ItemDataRole.UserRole:
            return COLUMNS[column][2](row)
        if role == Qt.ItemDataRole.CheckStateRole and column == 0:
            return Qt.CheckState.Checked if row.ticked else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ForegroundRole and column == VERDICT_COLUMN:
            return QColor(VERDICT_COLOURS.get(row.verdict, "#8a8a8a"))
        if role == Qt.ItemDataRole.ForegroundRole and column == ACTION_COLUMN and row.outcome in LEGEND:
            return QColor(CLIP_COLOURS.get(LEGEND[row.outcome].clip_color, "#d8d8d8"))
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.reason
        if role == Qt.ItemDataRole.TextAlignmentRole and 5 <= column <= 8:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == 0 and self.rows[index.row()].tickable and not self.locked:
            base |= Qt.ItemFlag.ItemIsUserCheckable
        return base

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.CheckStateRole or index.column() != 0:
            return False
        if not self.flags(index) & Qt.ItemFlag.ItemIsUserCheckable:
            return False
        ticked = Qt.CheckState(value) == Qt.CheckState.Checked
        self.rows[index.row()] = replace(self.rows[index.row()], ticked=ticked)
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])
        return True


class VerdictFilter(QSortFilterProxyModel):
    """Sorts by each column's value and shows only the chosen verdicts (all when none is chosen)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.verdicts: set[str] = set()
        self.setSortRole(Qt.ItemDataRole.UserRole)

    def show_verdicts(self, verdicts: set[str]) -> None:
        self.beginFilterChange()  # Qt 6.10: replaces invalidateFilter
        self.verdicts = set(verdicts)
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if not self.verdicts:
            return True
        model = self.sourceModel()
        assert isinstance(model, ReviewModel)
        return model.rows[source_row].verdict in self.verdicts

    def lessThan(self, left: Index, right: Index) -> bool:
        return bool(left.data(Qt.ItemDataRole.UserRole) < right.data(Qt.ItemDataRole.UserRole))
