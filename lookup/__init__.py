"""lookup: COVID-19 Data Hub-compatible ids, lookup tables, validation and safe writes.

Modules: ids (digest crc32 ids), table (Data Hub CSV layout), validate (errors/warnings),
rebuild (registry merge, diff, subset check), outputs (CSV, SQLite, GeoPackage, shapefile),
specs + sources/ (declarative provider specs), assemble (entities -> table rows).
"""

from .ids import datahub_id

__all__ = ["datahub_id"]
