"""geolookup: rebuild COVID-19 Data Hub lookup tables from GADM 3.6, NUTS 2021 and provider place lists.

This package holds the glue: configuration, data location and download cache, safe file IO,
the CLI and the build pipeline. The domain packages are ``gadm``, ``nuts``, ``matching``,
``curation`` and ``lookup``; data flows gadm/nuts -> matching -> curation -> lookup.
"""

__version__ = "0.1.0"
