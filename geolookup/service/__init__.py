"""service: ``geolookup serve``, the lookup service over HTTP (FastAPI, served by uvicorn).

It only wires the packages: points through :mod:`geolookup.gadm` and :mod:`geolookup.nuts`
(:mod:`.indexes`), names through :func:`geolookup.matching.match_places` and
:func:`geolookup.curation.apply_decisions` (:mod:`.matcher`), lookup rows and policies from the
build's ``lookup.sqlite`` (:mod:`.tables`). :func:`create_app` builds the application.
"""

from .app import app_from_env, create_app
from .config import Settings

__all__ = ["create_app", "app_from_env", "Settings"]
