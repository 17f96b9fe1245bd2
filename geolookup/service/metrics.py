"""Request counts and latency histograms per route, in the Prometheus text exposition format 0.0.4.

Hand-written (a few lines) rather than a new dependency; one process's figures (with several
workers each reports its own, as Prometheus client libraries do without a multiprocess directory).
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict

#: Histogram bucket upper bounds, seconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(v: str) -> str:
    return str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    """Thread-safe counters: ``observe`` one request, ``render`` the exposition text."""

    def __init__(self):
        self._lock = threading.Lock()
        self._count = defaultdict(int)  # (method, route, status) -> n
        self._hist = {}  # (method, route) -> [bucket counts..., +Inf], sum
        self.reloads = 0

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._count[(method, route, str(status))] += 1
            h = self._hist.setdefault((method, route), [[0] * (len(BUCKETS) + 1), 0.0])
            h[0][bisect.bisect_left(BUCKETS, seconds)] += 1
            h[1] += seconds

    def render(self) -> str:
        out = ["# HELP geolookup_http_requests_total HTTP requests by method, route template and status.",
               "# TYPE geolookup_http_requests_total counter"]
        with self._lock:
            for (m, r, s), n in sorted(self._count.items()):
                out.append(f'geolookup_http_requests_total{{method="{m}",route="{_label(r)}",status="{s}"}} {n}')
            out += ["# HELP geolookup_http_request_duration_seconds Time from request to response, seconds.",
                    "# TYPE geolookup_http_request_duration_seconds histogram"]
            for (m, r), (counts, total) in sorted(self._hist.items()):
                lab = f'method="{m}",route="{_label(r)}"'
                acc = 0
                for le, c in zip([*map(repr, BUCKETS), "+Inf"], counts):
                    acc += c
                    out.append(f'geolookup_http_request_duration_seconds_bucket{{{lab},le="{le}"}} {acc}')
                out.append(f"geolookup_http_request_duration_seconds_sum{{{lab}}} {total!r}")
                out.append(f"geolookup_http_request_duration_seconds_count{{{lab}}} {acc}")
            out += ["# HELP geolookup_reloads_total Lookup generations loaded after start-up.",
                    "# TYPE geolookup_reloads_total counter", f"geolookup_reloads_total {self.reloads}"]
        return "\n".join(out) + "\n"
