"""Data: per-country alias/code tables <ISO3>.csv read by matching.aliastable."""
