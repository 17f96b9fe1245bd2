"""Natural micro-batching: single requests that arrive while a batch runs are served by the next batch.

A vectorised lookup costs about the same for one item as for hundreds (shapely/rapidfuzz/pandas work
on whole arrays, and their fixed cost dominates for one item), so one runner task takes every
pending item of one key (e.g. the country searched) and hands them to ``func`` in a worker thread.
An idle service answers a lone request at once; under load the batches grow by themselves. One
exception to "no timer": right after a batch of many items, its callers (clients waiting for their
answer before sending the next request) come back together, but not at the same instant. Taking the
first few stragglers alone would cost a whole call for them and leave the rest to the call after, so
right after a large batch the runner waits for the key's queue to refill to half that batch, until a
quarter of that batch's duration (at most ``max_linger_s``) after its end; after a pause nothing waits. Results keep their requests; an exception
fails only the batch it came from.
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
    max_linger_s : float
        Longest wait for the callers of a large batch to come back (see the module docstring).
    """

    #: a batch of fewer items than this is "small": the next call starts at once
    LARGE = 8

    def __init__(self, func, max_batch: int = 256, max_linger_s: float = 0.02):
        self.func, self.max_batch = func, max(1, int(max_batch))
        self.max_linger_s = float(max_linger_s)
        self._last: dict = {}  # key -> (size, seconds, end time) of its last batch
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
                key = next(iter(self._pending))
                await self._linger(key)
                queue = self._pending[key]
                batch, rest = queue[: self.max_batch], queue[self.max_batch:]
                if rest:
                    self._pending[key] = rest
                    self._pending.move_to_end(key)  # other keys get their turn
                else:
                    del self._pending[key]
                batch = [(i, f) for i, f in batch if not f.cancelled()]
                if not batch:
                    continue
                loop = asyncio.get_running_loop()
                t0 = loop.time()
                try:
                    results = await asyncio.to_thread(self.func, key, [i for i, _ in batch])
                except Exception as exc:  # noqa: BLE001 -- handed to the waiting requests
                    for _, f in batch:
                        if not f.done():
                            f.set_exception(exc)
                    continue
                finally:
                    if len(self._last) > 1024:  # keys come from requests: keep the memory bounded
                        self._last.clear()
                    self._last[key] = (len(batch), loop.time() - t0, loop.time())
                for (_, f), r in zip(batch, results):
                    if not f.done():
                        f.set_result(r)

    async def _linger(self, key) -> None:
        """Right after a large batch of ``key``, wait until half as many items are queued again, or a quarter
        of that batch's duration (at most ``max_linger_s``) has passed. After a pause, nothing waits."""
        size, seconds, end = self._last.get(key, (0, 0.0, 0.0))
        want = size // 2
        loop = asyncio.get_running_loop()
        wait = min(self.max_linger_s, seconds / 4)
        if wait <= 0 or size < self.LARGE or len(self._pending.get(key, ())) >= want or loop.time() - end > wait:
            return
        deadline = end + wait
        while len(self._pending.get(key, ())) < want and (left := deadline - loop.time()) > 0:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), left)
            except asyncio.TimeoutError:
                break

    async def close(self):
        if self._task is not None:
            self._task.cancel()
