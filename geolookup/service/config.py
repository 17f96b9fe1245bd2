"""Settings of one service process: ``service`` table of defaults.toml, then command-line options.

The settings travel to uvicorn worker processes as JSON in ``GEOLOOKUP_SERVE_SETTINGS`` (each worker
builds its own app from them: :func:`geolookup.service.app.app_from_env`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields

from geolookup.core import config

ENV = "GEOLOOKUP_SERVE_SETTINGS"


@dataclass
class Settings:
    """What ``geolookup serve`` runs with.

    ``lookup``: OUT folder or lookup.sqlite (None: no locations/policies endpoints data);
    ``countries``: ISO3 codes whose GADM areas are served (empty: those of the lookup);
    ``data_dir`` / ``state_dir``: as for the CLI; limits ``max_batch`` (points per POST),
    ``max_body_mib``, ``request_timeout_s``; ``gadm_nearest_km`` (km); ``reload_poll_s`` (s);
    ``match_batch`` (names per matching call); ``cors_origins``; ``api_key`` (None: no key) sent in
    header ``api_key_header``; ``load_before_serving``; ``verbosity`` of worker processes' logging.
    """

    lookup: str | None = None
    countries: list = field(default_factory=list)
    data_dir: str | None = None
    state_dir: str | None = None
    max_batch: int = 100_000
    max_body_mib: float = 32
    request_timeout_s: float = 30
    gadm_nearest_km: float = 5
    reload_poll_s: float = 5
    match_batch: int = 256
    cors_origins: list = field(default_factory=list)
    api_key: str | None = None
    api_key_header: str = "X-API-Key"
    load_before_serving: bool = False  # True with several workers (see app.lifespan)
    verbosity: int = 0  # logging of worker processes: -1 errors only, 0 access log and summaries, 1 debug

    @classmethod
    def make(cls, **overrides) -> "Settings":
        """Defaults of ``service/defaults.toml`` (and the user's geolookup.toml), then ``overrides``
        that are not None; ``api_key`` also from $GEOLOOKUP_API_KEY."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in config.section("service").items() if k in names}
        values.update({k: v for k, v in overrides.items() if v is not None and k in names})
        values.setdefault("api_key", os.environ.get("GEOLOOKUP_API_KEY") or None)
        return cls(**values)

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> "Settings":
        return cls(**json.loads(os.environ[ENV])) if os.environ.get(ENV) else cls.make()
