"""Natural micro-batching: single requests that arrive while a batch runs are served by the next batch.

A vectorised lookup costs about the same for one item as for hundreds (shapely/rapidfuzz/pandas work
on whole arrays, and their fixed cost dominates for one item), so one runner task takes every
pending item of one key (e.g. the country searched) and hands them to ``func`` in a worker thread.
No timer: an idle service answers a lone request at once; under load the batches grow by
themselves. Results keep their requests; an exception fails only the batch it came from.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict


class MicroBatcher:
    """Batch items per key and run ``func(key, items) -> results`` (same length) in a thread.

    Parameters
    ----------
    func : callable
        ``func(key, list_of_items)`` returning a list of results in the same order.
    max_batch : int
        Most items per call.
    """

    def __init__(self, func, max_batch: int = 256):
        self.func, self.max_batch = func, max(1, int(max_batch))
        self._pending: OrderedDict = OrderedDict()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    async def submit(self, key, item):
        """Queue ``item`` under ``key`` and wait for its result (re-raises the batch's exception)."""
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run())
        fut = asyncio.get_running_loop().create_future()
        self._pending.setdefault(key, []).append((item, fut))
        self._wake.set()
        return await fut

    async def _run(self):
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                key, queue = next(iter(self._pending.items()))
                batch, rest = queue[: self.max_batch], queue[self.max_batch:]
                if rest:
                    self._pending[key] = rest
                    self._pending.move_to_end(key)  # other keys get their turn
                else:
                    del self._pending[key]
                batch = [(i, f) for i, f in batch if not f.cancelled()]
                if not batch:
                    continue
                try:
                    results = await asyncio.to_thread(self.func, key, [i for i, _ in batch])
                except Exception as exc:  # noqa: BLE001 -- handed to the waiting requests
                    for _, f in batch:
                        if not f.done():
                            f.set_exception(exc)
                    continue
                for (_, f), r in zip(batch, results):
                    if not f.done():
                        f.set_result(r)

    async def close(self):
        if self._task is not None:
            self._task.cancel()
