"""The two engines of ``geolookup enrich``: local (one process, streamed chunks) and Dask (one task per
file of a Parquet dataset, on a LocalCluster or a running scheduler). Both run the same
per-partition function, :func:`geolookup.enrich.engine.enrich_tables`, so their answers are equal.
"""

from __future__ import annotations

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


def _ahead(items, depth: int = 2):
    """Iterate ``items`` in a background thread, ``depth`` items ahead: reading and looking up the
    next chunk overlaps with writing this one (Arrow and shapely release the GIL). An error on
    either side stops both and is raised here."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False  # the consumer has stopped

    def produce():
        try:
            for item in items:
                if not put(item):
                    return
            put(done)
        except BaseException as exc:  # handed to the consumer, which raises it
            put(exc)

    worker = threading.Thread(target=produce, daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


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
    write_file(out, "parquet", src, _checked(_ahead(enrich_tables(src, enricher, opts, counts, [file])), counts, src))
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
    with log.progress(total=count_rows(src), desc=src.path.name, unit="row", unit_scale=True) as bar:
        write_file(output, kind, src, _checked(_ahead(enrich_tables(src, enricher, opts, counts)), counts, src, bar))
    return {k: counts[k] for k in COUNT_KEYS}
