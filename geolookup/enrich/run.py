"""The two engines of ``geolookup enrich``: local (one process, streamed chunks) and Dask (one task per
file of a Parquet dataset, on a LocalCluster or a running scheduler). Both run the same
per-partition function, :func:`geolookup.enrich.engine.enrich_tables`, so their answers are equal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sys
import threading
from collections import Counter
from pathlib import Path

from geolookup.core import log
from geolookup.core.errors import InputError

from .engine import Enricher, Options, enrich_tables
from .sinks import check_not_input, output_kind, partition_name, staged_folder, write_file
from .sources import Source, count_rows, open_source

logger = logging.getLogger(__name__)
COUNT_KEYS = ("rows", "missing", "gid", "within", "nearest", "none")


class _Ahead:
    """Iterate ``items`` in a background thread, ``depth`` items ahead: reading and looking up the
    next chunk overlaps with writing this one (Arrow and shapely release the GIL). The thread starts
    at once, so the first chunks are computed while the writer is still being set up. An error on
    either side stops both and is raised by the iteration; :meth:`close` stops the thread."""

    _DONE = object()

    def __init__(self, items, depth: int = 2):
        self._q: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._items = items
        self._worker = threading.Thread(target=self._produce, daemon=True)
        self._worker.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False  # the consumer has stopped

    def _produce(self):
        try:
            for item in self._items:
                if not self._put(item):
                    return
            self._put(self._DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(exc)

    def __iter__(self):
        try:
            while True:
                item = self._q.get()
                if item is self._DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.close()

    def close(self) -> None:
        self._stop.set()
        self._worker.join()


def _checked(tables, counts: Counter, src: Source, bar=None):
    """Pass the tables through; at the end, stop (before any rename) when there was no data row."""
    for t in tables:
        if bar is not None:
            bar.update(t.num_rows)
        yield t
    if counts["rows"] == 0:
        raise InputError(f"{src.path}: no data rows; the file needs at least one row after the header")


def enrich_partition(src: Source, file: Path, out: Path, enricher: Enricher, opts: Options) -> dict:
    """Enrich one file of a dataset into ``out`` (Parquet / GeoParquet); returns its counts.

    The task each Dask worker runs; the local engine runs it too for dataset outputs.
    """
    counts = Counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.closing(_Ahead(enrich_tables(src, enricher, opts, counts, [file]))) as ahead:
        write_file(out, "parquet", src, _checked(ahead, counts, src))
    return {k: counts[k] for k in COUNT_KEYS}


def _dask_client(scheduler: str | None, workers: int | None, timeout: float):
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=timeout), None
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler} within {timeout:g} s "
                             f"({str(exc).splitlines()[0][:120]}); check the address and that the scheduler runs") from None
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
    return Client(cluster, timeout=timeout), cluster


def _run_dask(tasks, src, enricher, opts, scheduler, workers, timeout) -> list[dict]:
    from distributed import progress

    client, cluster = _dask_client(scheduler, workers, timeout)
    try:
        shared = client.scatter(enricher, broadcast=True)  # the polygon indexes travel once per worker
        futures = [client.submit(enrich_partition, src, f, out, shared, opts, pure=False) for f, out in tasks]
        try:
            if sys.stderr.isatty() and not log.quiet():
                progress(futures)
            return client.gather(futures)
        except BaseException:
            client.cancel(futures)  # no task keeps writing into the staging folder being removed
            raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run(points, output, enricher: Enricher, opts: Options, engine: str = "local", scheduler: str | None = None,
        workers: int | None = None, timeout: float = 30.0) -> dict:
    """Enrich ``points`` into ``output`` and return the counts (rows, missing, gid, within, nearest, none).

    ``output`` is a file (.csv, .parquet, .gpkg, .fgb, .geojson) or a folder: a Parquet dataset
    with one file per input file (``--engine dask`` always writes a folder). Raises InputError
    (one line) for bad input; nothing is left at ``output`` then.
    """
    src = open_source(points)
    output = Path(output)
    check_not_input(output, src)
    kind = output_kind(output, src, folder=engine == "dask")
    if kind == "dataset":
        if src.kind != "parquet":
            raise InputError(f"{src.path}: a dataset output (folder) needs a Parquet file or a folder of Parquet "
                             "files as input; convert it, or give an output file")
        with staged_folder(output) as stage:
            tasks = [(f, stage / partition_name(src, f)) for f in src.files]
            if engine == "dask":
                results = _run_dask(tasks, src, enricher, opts, scheduler, workers, timeout)
            else:
                results = [enrich_partition(src, f, out, enricher, opts)
                           for f, out in log.progress(tasks, desc=src.path.name, unit="file")]
        return {k: sum(r[k] for r in results) for k in COUNT_KEYS}
    if engine == "dask":
        raise InputError("--engine dask writes a dataset: give a folder as -o")
    counts = Counter()
    with log.progress(total=count_rows(src), desc=src.path.name, unit="row", unit_scale=True) as bar, \
            contextlib.closing(_Ahead(enrich_tables(src, enricher, opts, counts))) as ahead:
        write_file(output, kind, src, _checked(ahead, counts, src, bar))
    return {k: counts[k] for k in COUNT_KEYS}
