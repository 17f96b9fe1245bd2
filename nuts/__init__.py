"""nuts: read NUTS 2021 (Eurostat GISCO files) and assign NUTS codes to points.

Public API: :func:`load_nuts`, :func:`assign_nuts`, :class:`NutsLayer` (one level's regions with
their point index, for callers that locate many chunks), :func:`nuts_layer` (the same, kept on disk
between runs), :func:`nuts_countries`.
"""

from .assign import NutsLayer, assign_nuts, nuts_countries, nuts_layer
from .loader import GeometryRepairWarning, gisco_name, load_nuts

__all__ = ["load_nuts", "assign_nuts", "NutsLayer", "nuts_layer", "nuts_countries", "gisco_name",
           "GeometryRepairWarning"]
