"""geolookup: rebuild COVID-19 Data Hub lookup tables from GADM 3.6, NUTS 2021 and provider place lists.

One namespace, in the order data flows: :mod:`geolookup.core` (the foundation: errors, table I/O,
configuration, data files, geometry repair, state, logging), :mod:`geolookup.gadm` and
:mod:`geolookup.nuts` (geometry), :mod:`geolookup.matching`, :mod:`geolookup.curation`,
:mod:`geolookup.lookup`; on top, the CLI (:mod:`geolookup.cli`), the build pipeline
(:mod:`geolookup.pipeline`) and the Python API re-exported here:

- :func:`locate`: GADM GIDs and NUTS codes of points (GeoDataFrame, DataFrame or arrays);
- :func:`match`: provider place names and codes to GADM 3.6 GIDs;
- :func:`areas`: GADM areas with interior points, centroids and NUTS codes;
- :func:`build`: a country's lookup table in the Data Hub's layout.
"""

import os as _os

__version__ = "0.1.0"

# setuptools installs the folders gadm/, nuts/, matching/, curation/ and lookup/ beside this one as
# geolookup.gadm, ... (package-dir mapping). Run from a source checkout (``python -m geolookup`` in the
# repository root, where this folder shadows the installed package), the same names must resolve to
# those folders: add the checkout's root to this package's search path, but only in a checkout.
_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if _os.path.isfile(_os.path.join(_root, "pyproject.toml")) and _os.path.isfile(
        _os.path.join(_root, "gadm", "__init__.py")) and _root not in __path__:
    __path__.append(_root)
__all__ = ["locate", "match", "areas", "build", "__version__"]


def __getattr__(name):
    # Imported on first use: ``import geolookup.gadm`` must not load the whole stack (and the
    # packages below the API import ``geolookup.core`` while this module is initialising).
    if name in ("locate", "match", "areas", "build"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'geolookup' has no attribute {name!r}")
