"""``geolookup serve``: the lookup service over HTTP (geolookup/service; FastAPI served by uvicorn)."""

from __future__ import annotations

import logging
import os

import click

from . import data_dir_option, state_dir_option

logger = logging.getLogger(__name__)


@click.command("serve")
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1: this machine only).")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="TCP port (default 8080).")
@click.option("--lookup", default=None, type=click.Path(path_type=str),
              help="Build output folder OUT or its lookup.sqlite: rows, policies and the countries to serve.")
@click.option("--countries", default=None, help="ISO3 codes to serve, comma-separated (default: the lookup's).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes (each loads its own tables; use behind a reverse proxy).")
@click.option("--cors-origin", "cors_origins", multiple=True,
              help="Origin allowed to call the API from a browser (repeat; CORS is off without it).")
@click.option("--api-key", default=None, help="Require this key in the X-API-Key header (default $GEOLOOKUP_API_KEY).")
@click.option("--max-batch", type=click.IntRange(1), default=None, help="Most points per POST /v1/locate (100,000).")
@click.option("--request-timeout", type=click.FloatRange(0.1), default=None, help="Seconds per request (30).")
@data_dir_option
@state_dir_option
def serve(host, port, lookup, countries, workers, cors_origins, api_key, max_batch, request_timeout, data_dir,
          state_dir):
    """Serve GADM/NUTS point lookups, name matching, lookup rows and policies as JSON under /v1
    (OpenAPI at /docs), read-only. Reload the tables with SIGHUP or by writing a new lookup."""
    import uvicorn

    from geolookup.core import log
    from geolookup.service.config import ENV, Settings
    from geolookup.service.tables import lookup_file

    verbosity = -1 if log.quiet() else (1 if logger.getEffectiveLevel() <= logging.DEBUG else 0)
    settings = Settings.make(
        lookup=lookup, countries=[c for c in (countries or "").split(",") if c.strip()] or None,
        data_dir=data_dir, state_dir=state_dir, cors_origins=list(cors_origins) or None, api_key=api_key,
        max_batch=max_batch, request_timeout_s=request_timeout, verbosity=verbosity, load_before_serving=workers > 1)
    if settings.lookup:
        lookup_file(settings.lookup)  # a wrong path fails here, in one line; resolved again at each reload
    from geolookup import gadm

    for iso in settings.countries:  # so does an unknown country or a missing GADM file
        gadm.available_levels(iso.strip(), settings.data_dir)
    from geolookup.core.config import section

    cfg = section("service")
    host = host or cfg.get("host", "127.0.0.1")
    port = int(port if port is not None else cfg.get("port", 8080))
    os.environ[ENV] = settings.to_env()
    logger.info("serving http://%s:%d (%d worker%s); OpenAPI at /docs", host, port, workers, "s" * (workers > 1))
    uvicorn.run("geolookup.service.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                access_log=False, log_config=None, timeout_graceful_shutdown=settings.request_timeout_s,
                timeout_worker_healthcheck=600)  # a SIGHUP rolling restart waits for each new worker to load
    return {"host": host, "port": port, "workers": workers, "lookup": settings.lookup}
