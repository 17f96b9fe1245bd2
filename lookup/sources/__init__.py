"""Declarative source specs shipped with geolookup: one TOML file per provider table.

Read them with :func:`lookup.specs.load_specs`; the keys are documented in lookup/specs.py.
"""
