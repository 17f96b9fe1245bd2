"""gadm: read GADM 3.6 as GADM distributes it, and compute interior points and centroids."""
