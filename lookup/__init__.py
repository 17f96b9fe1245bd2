"""lookup: COVID-19 Data Hub-compatible ids, lookup tables, validation and safe writes."""
