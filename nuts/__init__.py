"""nuts: read NUTS 2021 (Eurostat GISCO files) and assign NUTS codes to points."""
