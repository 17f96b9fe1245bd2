"""Shared fixtures. Tests that need the real data read it through GEOLOOKUP_DATA.

Under CI (``CI=true``) a missing data folder fails the test; on a developer machine without the
data it is skipped with the reason. Nothing else may skip.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def _data_root() -> Path | None:
    value = os.environ.get("GEOLOOKUP_DATA")
    if value and Path(value).is_dir():
        return Path(value).resolve()
    return None


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The real shared data folder (GEOLOOKUP_DATA)."""
    root = _data_root()
    if root is None:
        msg = "GEOLOOKUP_DATA is not set to the shared data folder (../shared/data)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)
    return root


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Never touch the developer's real cache or state from a test."""
    monkeypatch.setenv("GEOLOOKUP_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("GEOLOOKUP_STATE", str(tmp_path_factory.mktemp("state")))
    monkeypatch.delenv("GEOLOOKUP_CONFIG", raising=False)
