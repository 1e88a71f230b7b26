"""A QC batch as CSV (one row per file, stable column names, for spreadsheets) and as JSON (the files'
``lipalign.report/1`` records under a batch header). Both carry the same numbers as the HTML report."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from core.qc.model import QC_SCHEMA, QcBatch, QcItem, main_diagnostic

__all__ = ["CSV_COLUMNS", "batch_csv", "batch_json"]

CSV_COLUMNS = ("file", "status", "grade", "verdict", "offset_ms", "offset_frames", "drift_ms_per_min",
               "confidence", "duration_s", "fps", "main_diagnostic", "main_diagnostic_fix", "fails", "reason",
               "content_hash", "analysis_s")


def _row(item: QcItem, rules: tuple[str, ...]) -> dict[str, Any]:
    report = item.report or {}
    sync, media = report.get("sync", {}), report.get("media", {})
    diagnostic = main_diagnostic(item)
    return {"file": item.path, "status": item.status, "grade": item.grade, "verdict": item.verdict,
            "offset_ms": sync.get("offset_ms"), "offset_frames": sync.get("offset_frames"),
            "drift_ms_per_min": sync.get("drift_ms_per_min"), "confidence": sync.get("confidence"),
            "duration_s": media.get("duration_s"), "fps": media.get("fps_measured") or media.get("fps_declared"),
            "main_diagnostic": f"{diagnostic['code']}: {diagnostic['message']}" if diagnostic else "",
            "main_diagnostic_fix": diagnostic["fix"] if diagnostic else "",
            "fails": " ".join(item.fails(rules)), "reason": item.reason or sync.get("reason", ""),
            "content_hash": item.content_hash, "analysis_s": item.analysis_s}


def batch_csv(batch: QcBatch) -> str:
    """The batch worst first, one row per file; empty cells where a file has no such number."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for item in batch.ordered():
        writer.writerow({k: "" if v is None else v for k, v in _row(item, batch.fail_on).items()})
    return out.getvalue()


def batch_json(batch: QcBatch) -> str:
    """The batch header, one entry per file (worst first), and the report of every file that was analysed."""
    ordered = batch.ordered()
    document = {
        "schema": QC_SCHEMA,
        "batch": {"version": batch.version, "started": batch.started, "elapsed_s": round(batch.elapsed_s, 3),
                  "workers": batch.workers, "settings": batch.settings, "fail_on": list(batch.fail_on),
                  "counts": batch.counts(), "failing": [i.path for i in batch.failing()], "notes": batch.notes},
        "files": [{k: v for k, v in _row(i, batch.fail_on).items() if k in
                   ("file", "status", "grade", "verdict", "fails", "reason", "content_hash", "analysis_s")}
                  for i in ordered],
        "reports": [i.report for i in ordered if i.report is not None],
    }
    return json.dumps(document, indent=2) + "\n"
