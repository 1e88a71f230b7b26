"""Analyse a batch's files on a Dask cluster: a local one of ``workers`` processes, or a studio's scheduler.

Each file is one task, :func:`check_file`, which hashes the file, returns the cached result when there is
one and otherwise analyses it (one process per file, so face tracking stays in that process) and caches
the result. The cache folder must be reachable from every worker (shared storage on a farm). Results come
back as they finish, for the progress bar; a stop signal cancels what has not run and shuts a local
cluster down.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from core.analyze import AnalysisOptions, analyze_file
from core.errors import MediaError
from core.estimate import EstimatorSettings
from core.qc.cache import content_hash, entry_key, read_entry, write_entry
from core.qc.model import QcItem
from core.qc.thumbnail import face_thumbnail
from core.tolerance import parse_tolerance

__all__ = ["QcSettings", "check_file", "check_files"]


@dataclass(frozen=True)
class QcSettings:
    """Everything that changes a file's answer (and so the cache key)."""

    tolerance: str = "broadcast"
    search_ms: float = 1000.0
    project_rate: int = 48000
    full: bool = False

    def options(self) -> AnalysisOptions:
        estimator = EstimatorSettings(search_ms=self.search_ms, tolerance=parse_tolerance(self.tolerance))
        return AnalysisOptions(estimator=estimator, project_rate=self.project_rate, processes=1, full=self.full)


def check_file(path: str, settings: QcSettings, cache: str) -> QcItem:
    """One file's result: from the cache when its content was analysed with these settings before.

    Media that cannot be read is a result too (status ``failed``), cached like any other.
    """
    file_hash = content_hash(path)
    key = entry_key(file_hash, asdict(settings))
    folder = Path(cache)
    entry = read_entry(folder, key)
    if entry is not None:
        return QcItem(path, "cached", entry["reason"], entry["report"], entry["thumbnail"], file_hash,
                      entry["analysis_s"])
    started = time.monotonic()
    try:
        analysis = analyze_file(path, settings.options())
    except MediaError as exc:
        item = QcItem(path, "failed", str(exc).removeprefix(f"{path}: "), content_hash=file_hash)
    else:
        report = analysis.report.to_dict()
        item = QcItem(path, "analysed", "", report, face_thumbnail(path, analysis.face, report), file_hash,
                      round(time.monotonic() - started, 3))
    write_entry(folder, key, {"reason": item.reason, "report": item.report, "thumbnail": item.thumbnail_jpeg_b64,
                              "analysis_s": item.analysis_s, "status": item.status})
    return item


def check_files(paths: list[str], settings: QcSettings, cache: Path, *, workers: int = 2,
                scheduler: str | None = None, on_result: Callable[[QcItem], None] | None = None) -> list[QcItem]:
    """Every file's result, in the order of ``paths``; ``on_result`` sees each as it finishes.

    Raises
    ------
    MediaError
        The scheduler cannot be reached.
    """
    from distributed import as_completed

    results: dict[str, QcItem] = {}
    with _client(workers, scheduler) as client:
        futures = [client.submit(check_file, path, settings, str(cache), pure=False) for path in paths]
        path_of = {future.key: path for future, path in zip(futures, paths, strict=True)}
        try:
            for future in as_completed(futures):
                item = _result(future, path_of[future.key])
                results[item.path] = item
                if on_result is not None:
                    on_result(item)
        finally:
            client.cancel([f for f in futures if not f.done()])
    return [results[p] for p in paths]


def _result(future: Any, path: str) -> QcItem:
    """A finished task's item; a task that died (a worker crashed on the file) is that file's failure."""
    try:
        return future.result()
    except Exception as exc:  # the worker's exception, re-raised here: one file's failure, not the batch's
        return QcItem(path, "failed", f"analysis failed: {type(exc).__name__}: {exc}")


@contextmanager
def _client(workers: int, scheduler: str | None) -> Iterator[Any]:
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise MediaError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        try:
            yield client
        finally:
            client.close()
        return
    if workers < 1:
        raise MediaError(f"--workers must be at least 1, not {workers}")
    # Any free port for the scheduler's HTTP endpoints: a studio's own scheduler may hold the usual 8787.
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
