"""matching: link provider place names and codes to GADM 3.6 GIDs."""
