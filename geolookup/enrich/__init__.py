"""enrich: add the containing GADM GID and NUTS 2021 codes to every point of a file or dataset.

Public API: :class:`Enricher` (the layers' point indexes and the new columns), :class:`Options`
(coordinate columns or geometry, CRS, chunk size), :func:`run` (local or Dask engine),
:func:`enrich_tables` (the per-partition function both engines use).
"""

from .engine import Enricher, Options, enrich_tables
from .run import enrich_partition, run

__all__ = ["Enricher", "Options", "enrich_tables", "enrich_partition", "run"]
