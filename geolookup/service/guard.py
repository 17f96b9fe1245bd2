"""One ASGI middleware for every request: API key, body-size limit, time limit, metrics, access log.

Each refusal is a JSON body ``{"error", "field", "fix"}`` (:func:`error_body`), never a traceback.
The access log is one JSON object per request on the ``geolookup.service.access`` logger.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time

access_log = logging.getLogger("geolookup.service.access")
#: Paths that stay open without the API key (probes and scraping).
OPEN_PATHS = ("/healthz", "/readyz", "/metrics")


def error_body(error: str, field: str | None = None, fix: str = "") -> dict:
    """The JSON body of every 4xx/5xx answer: what is wrong, which field, and how to fix it."""
    return {"error": error, "field": field, "fix": fix}


def too_large_body(max_bytes: int) -> dict:
    return error_body(f"request body larger than {max_bytes / 1024 / 1024:g} MiB", "body",
                      "split the points over several requests")


async def _send_json(send, status: int, body: dict, headers=()) -> None:
    data = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": data})


class TooLarge(Exception):
    """The body grew past the limit while being read (the app answers 413, see app.py)."""


class Guard:
    """Wraps the app; ``settings`` gives max_body_mib, request_timeout_s, api_key, api_key_header."""

    def __init__(self, app, settings, metrics):
        self.app, self.metrics = app, metrics
        self.max_body = int(settings.max_body_mib * 1024 * 1024)
        self.timeout = float(settings.request_timeout_s)
        self.key = settings.api_key.encode() if settings.api_key else None
        self.key_header = settings.api_key_header.lower().encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        state = {"status": 500, "bytes": 0, "started": False}
        headers = dict(scope.get("headers") or [])

        async def send_(msg):
            if msg["type"] == "http.response.start":
                state["status"], state["started"] = msg["status"], True
            elif msg["type"] == "http.response.body":
                state["bytes"] += len(msg.get("body", b""))
            await send(msg)

        received = 0

        async def receive_(_=None):
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > self.max_body:
                    raise TooLarge()
            return msg

        path = scope.get("path", "")
        try:
            length = int(headers.get(b"content-length", b"0") or 0)
        except ValueError:
            length = -1
        try:
            if self.key and path not in OPEN_PATHS and path.startswith("/v1") and \
                    not hmac.compare_digest(headers.get(self.key_header, b""), self.key):
                await _send_json(send_, 401, error_body("missing or wrong API key", self.key_header.decode(),
                                                        f"send the key in the {self.key_header.decode()} header"))
            elif length < 0:
                await _send_json(send_, 400, error_body("bad Content-Length header", "Content-Length",
                                                        "send a decimal byte count"))
            elif length > self.max_body:
                await self._too_large(send_)
            else:
                await asyncio.wait_for(self.app(scope, receive_, send_), self.timeout)
        except TooLarge:
            if not state["started"]:
                await self._too_large(send_)
        except asyncio.TimeoutError:
            if not state["started"]:
                await _send_json(send_, 504, error_body(f"the request took longer than {self.timeout:g} s", None,
                                                        "send fewer points per request"))
        finally:
            seconds = time.perf_counter() - t0
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe(scope["method"], route, state["status"], seconds)
            if access_log.isEnabledFor(logging.INFO):
                client = scope.get("client") or ("", 0)
                access_log.info(json.dumps({
                    "ts": round(time.time(), 3), "client": client[0], "method": scope["method"], "path": path,
                    "query": scope.get("query_string", b"").decode("latin-1"), "route": route,
                    "status": state["status"], "bytes": state["bytes"], "ms": round(seconds * 1000, 2)}))

    async def _too_large(self, send):
        await _send_json(send, 413, too_large_body(self.max_body))
