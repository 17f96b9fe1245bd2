"""The FastAPI application of ``geolookup serve``: routes only; the work is in the packages.

Endpoints (JSON, under ``/v1``): ``GET/POST /v1/locate`` (GADM areas and NUTS 2021 regions of
points), ``GET /v1/match`` (``geolookup match`` for one name), ``GET /v1/locations[/{id}]`` (lookup
rows), ``GET /v1/policies/{id}`` (policy series, when the lookup holds them); probes ``/healthz``,
``/readyz`` and Prometheus ``/metrics``. Bad input gets a 4xx JSON ``{"error", "field", "fix"}``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from contextlib import asynccontextmanager
from typing import Annotated, Literal

from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from geolookup.core.errors import GeolookupError

from . import models
from .batcher import MicroBatcher
from .config import Settings
from .guard import Guard, TooLarge, error_body, too_large_body
from .metrics import CONTENT_TYPE, Metrics
from .points import BatchTooLarge, parse_points
from .runtime import Runtime

log = logging.getLogger(__name__)
ERRORS = {s: {"model": models.ErrorBody} for s in (401, 404, 413, 422, 503, 504)}
Country = Annotated[str | None, Query(pattern="^[A-Za-z]{3}$", description="ISO3 code of a served country.",
                                      examples=["ITA"])]
Level = Annotated[int | None, Query(ge=0, le=5, description="GADM level (0 = country).", examples=[2])]


class NotReady(Exception):
    pass


def _json(text: str, status: int = 200) -> Response:
    return Response(text, status_code=status, media_type="application/json")


def _field_fix(err: dict) -> tuple[str, str, str]:
    loc = [str(x) for x in err.get("loc", ()) if x not in ("query", "path", "body", "header")]
    field = ".".join(loc) or "request"
    msg = err.get("msg", "invalid value")
    fix = f"add the {field} parameter" if err.get("type") == "missing" else f"give {field} as described: {msg}"
    return field, f"{field}: {msg}", fix


def create_app(settings: Settings | None = None) -> FastAPI:
    """The FastAPI application of ``geolookup serve``.

    Parameters
    ----------
    settings : Settings, optional
        Default: ``service/defaults.toml`` and the user's geolookup.toml.

    Returns
    -------
    fastapi.FastAPI
        Loads the lookup tables and point indexes at start-up (lifespan); until then the ``/v1``
        endpoints answer 503 and ``/readyz`` says "loading".
    """
    settings = settings or Settings.make()
    metrics = Metrics()
    rt = Runtime(settings, metrics)

    def now():
        if rt.current is None:
            raise NotReady()
        return rt.current

    # a point lookup's fixed cost is a fraction of a millisecond: its batches never wait (max_linger_s=0)
    locate_batcher = MicroBatcher(lambda key, items: now().indexes.locate_json(
        [i[0] for i in items], [i[1] for i in items], *key), max_batch=settings.max_batch, max_linger_s=0)
    match_batcher = MicroBatcher(lambda key, items: now().matcher.match(*key, items), settings.match_batch)

    @asynccontextmanager
    async def lifespan(app):
        # one process: answer the probes while loading (/readyz 503). Several workers: load first, so that
        # uvicorn's rolling restart (SIGHUP) only retires a worker once its replacement has loaded.
        if settings.load_before_serving:
            await rt.start()
        else:
            app.state.loading = asyncio.get_running_loop().create_task(rt.start())
        yield
        await rt.stop()

    app = FastAPI(title="geolookup", version="1", lifespan=lifespan, description=(
        "Which GADM 3.6 area and NUTS 2021 region holds a point, which GID a provider's place name is, and "
        "the COVID-19 Data Hub lookup rows and policies of an id. GADM levels start at 0 (country); the Data "
        "Hub's administrative_area_level is the GADM level + 1."))
    app.state.runtime, app.state.metrics = rt, metrics

    @app.exception_handler(RequestValidationError)
    async def _invalid(request, exc):
        field, msg, fix = _field_fix(exc.errors()[0] if exc.errors() else {})
        return JSONResponse(error_body(msg, field, fix), status_code=422)

    @app.exception_handler(GeolookupError)
    async def _input(request, exc):
        text = str(exc)
        head, sep, _ = text.partition(": ")
        field = head if sep and " " not in head else None
        fix = text.rsplit("; ", 1)[-1] if "; " in text else "check the request"
        return JSONResponse(error_body(text, field, fix), status_code=422)

    @app.exception_handler(BatchTooLarge)
    async def _batch(request, exc):
        return JSONResponse(error_body(str(exc), "body", "split the points over several requests"), status_code=413)

    @app.exception_handler(NotReady)
    async def _not_ready(request, exc):
        return JSONResponse(error_body(f"not ready: {rt.status}", None, "wait until GET /readyz answers 200"),
                            status_code=503)

    @app.exception_handler(TooLarge)
    async def _too_large(request, exc):
        return JSONResponse(too_large_body(int(settings.max_body_mib * 1024 * 1024)), status_code=413)

    @app.exception_handler(Exception)
    async def _bug(request, exc):  # a defect, not the caller's fault: logged with its traceback
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return JSONResponse(error_body("internal error", None, "retry; if it persists, report it with the request"),
                            status_code=500)

    @app.exception_handler(HTTPException)
    async def _http(request, exc):
        fix = {404: "see /docs for the endpoints", 405: "see /docs for the methods of this path"}.get(
            exc.status_code, "see /docs")
        return JSONResponse(error_body(str(exc.detail), None, fix), status_code=exc.status_code)

    @app.get("/healthz", response_model=models.Health, tags=["probes"])
    async def healthz():
        """The process answers (liveness)."""
        return {"status": "ok"}

    @app.get("/readyz", response_model=models.Ready, responses={503: {"model": models.Ready}}, tags=["probes"])
    async def readyz():
        """200 once the lookup tables and the GADM/NUTS indexes are loaded, 503 before (or after a failed load)."""
        cur = rt.current
        if rt.status != "ready" or cur is None:
            return JSONResponse({"status": rt.status, "countries": [], "generation": None, "detail": rt.detail},
                                status_code=503)
        return {"status": "ready", "countries": list(cur.indexes.countries), "generation": cur.generation}

    @app.get("/metrics", tags=["probes"], response_class=Response,
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}})
    async def prometheus():
        """Request counts and latency histograms per route (Prometheus text format 0.0.4)."""
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/v1/locate", response_model=models.LocateResult, responses=ERRORS, tags=["points"])
    async def locate(
        lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False, description="Latitude, degrees WGS84.",
                                    examples=[41.9])],
        lon: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False, description="Longitude, degrees WGS84.",
                                    examples=[12.5])],
        gadm_level: Level = None, country: Country = None,
    ):
        """The GADM areas (GID and name at every GADM level down to `gadm_level`, default the finest) and
        the NUTS 0-3 regions holding the point, each with method (within|nearest|none) and distance_km."""
        country = country.upper() if country else None
        now().indexes.check(country, gadm_level)
        return _json(await locate_batcher.submit((country, gadm_level), (lon, lat)))

    @app.post("/v1/locate", response_model=models.LocateBatch | models.LocateColumns, responses=ERRORS,
              tags=["points"], openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
                  "schema": models.POINT_BODY_SCHEMA, "examples": models.POINT_BODY_EXAMPLES}}}})
    async def locate_many(request: Request, gadm_level: Level = None, country: Country = None,
                          layout: Annotated[Literal["rows", "columns"], Query(
                              description="`rows`: one object per point, as GET answers; `columns`: one array per "
                                          "column (the columns of geolookup.locate): under half the size, read many times faster.")] = "rows"):
        """Many points at once (a JSON array of {lat, lon} or a GeoJSON FeatureCollection of points, at most
        `max_batch`, default 100,000): one answer per point, in input order, as for GET."""
        country = country.upper() if country else None
        cur = now()
        cur.indexes.check(country, gadm_level)
        raw = await request.body()

        def work():  # off the event loop: parsing and answering 100,000 points takes a while
            lon, lat = parse_points(raw, settings.max_batch)
            return cur.indexes.locate_body(lon, lat, country, gadm_level, layout)

        return Response(await asyncio.to_thread(work), media_type="application/json")

    @app.get("/v1/match", response_model=models.MatchResult, responses=ERRORS, tags=["names"])
    async def match(q: Annotated[models.MatchQuery, Query()]):
        """Decision, GID, score, method, reason and the top 5 candidates, exactly as `geolookup match` gives
        them for a one-row file with this name. Never mints an id and never writes the state folder."""
        country = q.country.upper()
        now().matcher.check(country, q.gadm_level)
        ans = await match_batcher.submit((country, q.gadm_level, q.source),
                                         (q.name.strip(), q.parent.strip(), q.code.strip()))
        query = {"name": q.name, "country": country, "gadm_level": q.gadm_level, "parent": q.parent,
                 "code": q.code, "source": q.source}
        return _json(json.dumps({"query": query, **ans}, ensure_ascii=False, allow_nan=False))

    def _tables():
        cur = now()
        if cur.tables is None:
            raise HTTPException(404, "no lookup loaded: the service was started without --lookup")
        return cur.tables

    @app.get("/v1/locations/{id}", response_model=models.LocationOne, responses=ERRORS, tags=["lookup"])
    async def location(id: Annotated[str, Path(description="Data Hub id.", examples=["ed79e985"])]):
        """One lookup row by Data Hub id, in the Data Hub's columns (null = NA)."""
        row = _tables().by_id(id)
        if row is None:
            return JSONResponse(error_body(f"id {id!r} is not in the lookup", "id", "check the id"), status_code=404)
        return {"location": row}

    @app.get("/v1/locations", response_model=models.LocationList, responses=ERRORS, tags=["lookup"])
    async def locations(request: Request,
                        key_gadm: Annotated[str | None, Query(examples=["ITA.1_1"])] = None,
                        key_nuts: Annotated[str | None, Query(examples=["ITF1"])] = None,
                        key_local: Annotated[str | None, Query(examples=["13"])] = None):
        """Lookup rows whose key_gadm, key_nuts, key_local or any `id_<source>` query parameter
        (e.g. `id_github.pcmdpc.covid19=Abruzzo`) equal the values given (all of them)."""
        filters = dict(request.query_params)
        if not filters:
            raise GeolookupError("query: no filter given; add key_gadm=, key_nuts=, key_local= or id_<source>=")
        rows = _tables().find(filters)
        return {"count": len(rows), "locations": rows}

    @app.get("/v1/policies/{id}", response_model=models.PolicySeries, responses=ERRORS, tags=["lookup"])
    async def policies(id: Annotated[str, Path(description="Data Hub id.")],
                       start: Annotated[dt.date | None, Query(alias="from", description="First date (ISO).")] = None,
                       end: Annotated[dt.date | None, Query(alias="to", description="Last date (ISO).")] = None):
        """The OxCGRT policy series of one id (as `geolookup policies` writes it) between `from` and `to`,
        when the lookup database holds a `policy` table; 404 otherwise."""
        tables = _tables()
        if start and end and start > end:
            raise GeolookupError(f"from: {start} is after to={end}; give from <= to")
        if tables.by_id(id) is None:
            return JSONResponse(error_body(f"id {id!r} is not in the lookup", "id", "check the id"), status_code=404)
        rows = tables.policies(id, start and start.isoformat(), end and end.isoformat())
        if rows is None:
            return JSONResponse(error_body("the lookup holds no policy table", None,
                                           "store `geolookup policies` output as table 'policy' in lookup.sqlite"),
                                status_code=404)
        return {"id": id, "count": len(rows), "policies": rows}

    if settings.cors_origins:  # off by default
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                             allow_headers=["*"])
    app.add_middleware(Guard, settings=settings, metrics=metrics)  # outermost of ours: sees every request
    return app


def app_from_env() -> FastAPI:
    """uvicorn factory for worker processes: settings from $GEOLOOKUP_SERVE_SETTINGS; logging set up as
    the CLI's when the process has none yet (spawned workers)."""
    import logging

    from geolookup.core import log

    settings = Settings.from_env()
    if not logging.getLogger(log.ROOT).handlers:
        log.configure(settings.verbosity)
    return create_app(settings)

