"""nuts: read NUTS 2021 (Eurostat GISCO files) and assign NUTS codes to points.

Public API (see CONTRACTS.md): :func:`load_nuts`, :func:`assign_nuts`.
"""

from .assign import assign_nuts
from .loader import GeometryRepairWarning, gisco_name, load_nuts

__all__ = ["load_nuts", "assign_nuts", "gisco_name", "GeometryRepairWarning"]
