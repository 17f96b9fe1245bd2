"""What the service holds in memory, and its reload: lookup tables, point indexes and the matcher.

Everything a request needs is one immutable :class:`Loaded` object; a request takes the current one
when it starts and keeps it to the end. A reload (SIGHUP, or a new lookup generation seen by the
poller) builds a new object in a worker thread and swaps the reference, so requests in flight finish
on the old tables and none is dropped or refused. The GADM/NUTS indexes are rebuilt only when the
set of countries changes (GADM does not change with the lookup).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
import threading
from dataclasses import dataclass

from geolookup.core.errors import GeolookupError

from .indexes import Indexes
from .matcher import Matcher
from .tables import LookupTables, generation, load_lookup

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Loaded:
    """One consistent generation: ``tables`` (None without --lookup), ``indexes``, ``matcher``."""

    tables: LookupTables | None
    indexes: Indexes
    matcher: Matcher

    @property
    def generation(self) -> str | None:
        return None if self.tables is None else ":".join(map(str, self.tables.generation[1:]))


class Runtime:
    """Loads, serves and reloads :class:`Loaded` for one process (``settings``: service.config.Settings)."""

    def __init__(self, settings, metrics):
        self.settings, self.metrics = settings, metrics
        self.current: Loaded | None = None
        self.status, self.detail = "loading", None
        self._lock = threading.Lock()
        self._task = None

    def _countries(self, tables) -> list[str]:
        wanted = [c.strip().upper() for c in self.settings.countries if c.strip()]
        if not wanted and tables is not None:
            wanted = list(tables.countries)
        if not wanted:
            raise GeolookupError("no country to serve: give --countries ISO3,... or a --lookup holding countries")
        return sorted(set(wanted))

    def load(self) -> Loaded:
        """Build a new :class:`Loaded` (blocking; seconds) and make it current."""
        with self._lock:
            s = self.settings
            tables = load_lookup(s.lookup) if s.lookup else None
            countries = self._countries(tables)
            old = self.current
            if old is not None and sorted(old.indexes.countries) == countries:
                indexes = old.indexes
            else:
                indexes = Indexes(countries, s.data_dir, s.gadm_nearest_km)
            matcher = Matcher({k: c.levels for k, c in indexes.countries.items()}, s.data_dir, s.state_dir)
            self._warm(matcher, indexes)
            self.current = Loaded(tables, indexes, matcher)
            if old is not None and old.matcher is not matcher:
                # in-flight requests may still hold the old matcher; remove its snapshot once they are done
                threading.Timer(s.request_timeout_s + 1, old.matcher.close).start()
            # the loaded tables and indexes are some 600,000 long-lived containers: a full collection over
            # them takes ~0.1 s and would stall requests now and then. Collect once (the previous
            # generation's garbage too), then keep what is left out of the collector's reach.
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            return self.current

    @staticmethod
    def _warm(matcher, indexes) -> None:
        """Build the matchers of each country's finest level now, not on the first request."""
        for iso, c in indexes.countries.items():
            if max(c.levels) >= 1:
                matcher.match(iso, max(c.levels), "warm-up", [("-", "", "")])

    async def start(self) -> None:
        """Load in a thread (``/readyz`` says "loading" meanwhile), then watch for SIGHUP and new generations."""
        # lookups run in worker threads and hold the GIL in stretches; a 1 ms switch interval (default 5 ms)
        # lets the event loop accept and answer other requests between them
        sys.setswitchinterval(0.001)
        try:
            await asyncio.to_thread(self.load)
            self.status = "ready"
            log.info("ready: %s", ", ".join(self.current.indexes.countries))
        except Exception as exc:  # noqa: BLE001 -- reported by /readyz, the process keeps answering probes
            self.status, self.detail = "failed", " ".join(str(exc).split())
            log.error("loading failed: %s", self.detail)
            return
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(self.reload("SIGHUP")))
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread / no SIGHUP
            log.debug("SIGHUP reload unavailable in this process")
        if self.settings.lookup and self.settings.reload_poll_s > 0:
            self._task = loop.create_task(self._poll())

    async def reload(self, reason: str) -> None:
        """Load the tables again in a thread and swap them in; on failure keep serving the old ones."""
        try:
            new = await asyncio.to_thread(self.load)
            self.metrics.reloads += 1
            log.info("reloaded (%s): generation %s", reason, new.generation)
        except Exception as exc:  # noqa: BLE001 -- a bad new generation must not stop the service
            log.error("reload (%s) failed, still serving the previous tables: %s", reason, exc)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.settings.reload_poll_s)
            cur = self.current
            try:
                changed = cur is not None and cur.tables is not None and \
                    generation(self.settings.lookup) != cur.tables.generation
            except GeolookupError:
                changed = False  # the file is being replaced; look again next time
            if changed:
                await self.reload("new lookup generation")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self.current is not None:
            self.current.matcher.close()
