"""The data of a QC batch: one :class:`QcItem` per file found, and the :class:`QcBatch` around them.

A file's analysis is kept as its ``lipalign.report/1`` record (the same JSON ``lipalign analyze --json``
writes), so everything downstream (the HTML, CSV and JSON reports, the exit status) reads one shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["FAIL_RULES", "GRADES", "QC_SCHEMA", "QcBatch", "QcItem", "main_diagnostic"]

QC_SCHEMA = "lipalign.qc/1"
Status = Literal["analysed", "cached", "failed", "skipped"]
Grade = Literal["green", "amber", "red", "grey"]
GRADES: tuple[str, ...] = ("red", "amber", "green", "grey")  # worst first
# What --fail-on can name: a verdict, a file that could not be analysed, or any warning or error diagnostic.
FAIL_RULES: tuple[str, ...] = ("offset", "drift", "inconclusive", "diagnostic", "unreadable")
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class QcItem:
    """One file of a batch and what came of it.

    ``status``: ``analysed`` in this run, ``cached`` (analysed before with the same content, settings and
    version), ``failed`` (media LipAlign could not read: ``reason`` says why) or ``skipped`` (not media).
    ``report`` is the ``lipalign.report/1`` record for analysed and cached files; ``thumbnail_jpeg_b64``
    a JPEG (base64) of the face with the mouth region the measurement used, empty when there is none;
    ``analysis_s`` the wall time the analysis took when it ran.
    """

    path: str
    status: Status
    reason: str = ""
    report: dict[str, Any] | None = None
    thumbnail_jpeg_b64: str = ""
    content_hash: str = ""
    analysis_s: float = 0.0

    @property
    def verdict(self) -> str:
        """The sync verdict (in_sync, offset, drift, inconclusive), or ``failed`` / ``skipped``."""
        if self.report is None:
            return self.status
        return str(self.report["sync"]["verdict"])

    @property
    def warnings(self) -> list[dict[str, Any]]:
        """The report's warning and error diagnostics, worst first."""
        found = [d for d in (self.report or {}).get("diagnostics", []) if d["severity"] in ("warning", "error")]
        return sorted(found, key=lambda d: SEVERITY_ORDER[d["severity"]])

    @property
    def grade(self) -> Grade:
        """Red: out of sync, drifting or unreadable; amber: inconclusive, or in sync with a warning; green: in
        sync and clean; grey: not media."""
        if self.status == "skipped":
            return "grey"
        if self.status == "failed" or self.verdict in ("offset", "drift"):
            return "red"
        if self.verdict == "inconclusive" or self.warnings:
            return "amber"
        return "green"

    def fails(self, rules: tuple[str, ...]) -> list[str]:
        """The ``--fail-on`` rules this file breaks."""
        broken = []
        if "unreadable" in rules and self.status == "failed":
            broken.append("unreadable")
        if self.verdict in rules and self.verdict in ("offset", "drift", "inconclusive"):
            broken.append(self.verdict)
        if "diagnostic" in rules and self.warnings:
            broken.append("diagnostic")
        return broken

    def severity_key(self) -> tuple[int, float]:
        """Sort key, worst first: by grade, then by how far out of sync."""
        offset = (self.report or {}).get("sync", {}).get("offset_ms")
        return GRADES.index(self.grade), -abs(offset) if offset is not None else 0.0


def main_diagnostic(item: QcItem) -> dict[str, Any] | None:
    """The diagnostic a producer should read first: the worst warning, else the first note."""
    if item.warnings:
        return item.warnings[0]
    notes = (item.report or {}).get("diagnostics", [])
    return notes[0] if notes else None


@dataclass(frozen=True)
class QcBatch:
    """A whole QC run: its files, the settings they were measured with, and what counts as failing.

    ``settings`` holds ``tolerance`` (preset name), ``search_ms`` and ``project_rate``; ``started`` is an ISO
    8601 time; ``elapsed_s`` the run's wall time; ``workers`` where the work ran (``local:N`` or the
    scheduler's address).
    """

    items: list[QcItem]
    settings: dict[str, Any]
    fail_on: tuple[str, ...]
    version: str
    started: str
    elapsed_s: float = 0.0
    workers: str = ""
    notes: list[str] = field(default_factory=list)

    def ordered(self) -> list[QcItem]:
        """The files worst first (red, amber, green, then what is not media), each grade by offset size."""
        return sorted(self.items, key=lambda i: (*i.severity_key(), i.path))

    def counts(self) -> dict[str, int]:
        """Files checked (media), within tolerance, out of sync, drifting, inconclusive, failed; and skipped."""
        verdicts = [i.verdict for i in self.items]
        return {"checked": sum(v != "skipped" for v in verdicts), "in_sync": verdicts.count("in_sync"),
                "offset": verdicts.count("offset"), "drift": verdicts.count("drift"),
                "inconclusive": verdicts.count("inconclusive"), "failed": verdicts.count("failed"),
                "skipped": verdicts.count("skipped"),
                "analysed": sum(i.status == "analysed" for i in self.items),
                "cached": sum(i.status == "cached" for i in self.items)}

    def failing(self) -> list[QcItem]:
        """The files that break a ``fail_on`` rule (the QC gate's exit status is 1 when there is any)."""
        return [i for i in self.items if i.fails(self.fail_on)]
