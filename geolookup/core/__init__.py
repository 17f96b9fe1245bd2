"""The foundation every geolookup package shares: errors, table I/O, configuration, data files,
geometry repair, the state folder and logging.

It imports no other geolookup package; ``gadm`` and ``nuts`` import only this, and the layers above
(matching, curation, lookup, then the CLI, the pipeline and the service) build on it.
"""
