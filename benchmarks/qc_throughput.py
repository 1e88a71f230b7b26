"""Batch QC throughput: files per minute with 1 and 2 Dask workers, and peak memory per worker. Prints a table.

    .venv/bin/python benchmarks/qc_throughput.py [--corpus ../shared/corpus] [--files 40]

The batch is the first ``--files`` media files of the corpus manifest (real and generated clips, under 30 s
each so the run stays short); each configuration starts from an empty cache, so every file is analysed.
Both configurations run here, one after the other, on the same files; the ratio is the speed-up.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

from core.qc.run import QcSettings, check_files  # noqa: E402


def batch(corpus: Path, count: int) -> tuple[list[str], float]:
    """The files, and their total length in seconds."""
    entries = json.loads((corpus / "MANIFEST.json").read_text())
    chosen = [e for e in entries if (e.get("duration_s") or 0) < 30.0][:count]
    return [str(corpus / e["file"]) for e in chosen], sum(e["duration_s"] for e in chosen)


def peak_rss_mib() -> float:
    """This process's peak resident memory (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run(paths: list[str], workers: int) -> tuple[float, list[float], int]:
    """Wall time, each worker's peak memory (MiB), and how many files failed, for one configuration."""
    from distributed import Client, LocalCluster

    with tempfile.TemporaryDirectory() as cache, \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                         silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        started = time.monotonic()
        items = check_files(paths, QcSettings(), Path(cache), scheduler=cluster.scheduler_address)
        wall = time.monotonic() - started
        peaks = sorted(client.run(peak_rss_mib).values())
    return wall, peaks, sum(i.status == "failed" for i in items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--files", type=int, default=40)
    args = parser.parse_args()
    paths, seconds = batch(args.corpus, args.files)
    print(f"{len(paths)} files from {args.corpus}, {seconds:.0f} s of media")
    rows = []
    for workers in (1, 2):
        wall, peaks, failed = run(paths, workers)
        rows.append((workers, wall, len(paths) / wall * 60.0, peaks, failed))
    print(f"{'workers':>7}  {'wall s':>7}  {'files/min':>9}  {'speed-up':>8}  {'peak MiB per worker':>20}  failed")
    for workers, wall, rate, peaks, failed in rows:
        print(f"{workers:>7}  {wall:7.1f}  {rate:9.1f}  {rate / rows[0][2]:7.2f}x  "
              f"{', '.join(f'{p:.0f}' for p in peaks):>20}  {failed}")


if __name__ == "__main__":
    main()
