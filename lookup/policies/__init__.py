"""OxCGRT policy measures propagated to every lookup location with the Data Hub's sign convention.

Pipeline: :func:`read_oxcgrt` (every OxCGRT layout -> one long table with a typed date) ->
:func:`source_table` (per nation / region signed arrays) -> :func:`propagate` (broadcast to the
locations of one Data Hub ``administrative_area_level`` from :func:`read_lookup` / :func:`candidates`).
:func:`build_policies` runs all of it. Rules are documented in :mod:`.propagate`, :mod:`.sources`,
:mod:`.readers`, :mod:`.locations` and :mod:`.table` (paper section "Policy measures").
"""

from .locations import candidates, read_lookup
from .propagate import build_policies, output_columns, propagate
from .readers import detect_layout, read_long, read_oxcgrt
from .wide import read_wide
from .sources import SourceArrays, signed_values, source_table
from .table import FLAGGED_POLICIES, INDEX_COLUMNS, POLICY_COLUMNS, indicators

__all__ = [
    "FLAGGED_POLICIES", "INDEX_COLUMNS", "POLICY_COLUMNS", "SourceArrays", "build_policies", "candidates",
    "detect_layout", "indicators", "output_columns", "propagate", "read_long", "read_lookup", "read_oxcgrt",
    "read_wide", "signed_values", "source_table",
]
