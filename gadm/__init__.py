"""gadm: read GADM 3.6 as GADM distributes it, and compute interior points and centroids.

Public API: :func:`load_areas`, :func:`available_levels`,
:func:`interior_points`, :func:`centroids`, :func:`locate`.
"""

from .loader import GeometryRepairWarning, archive, available_levels, load_areas
from .points import centroids, distance_to_areas_km, geodesic_km, interior_points, locate

__all__ = [
    "load_areas",
    "available_levels",
    "archive",
    "interior_points",
    "centroids",
    "locate",
    "distance_to_areas_km",
    "geodesic_km",
    "GeometryRepairWarning",
]
