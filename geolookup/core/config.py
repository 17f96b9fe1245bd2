"""Configuration: per-package defaults in TOML, overridden by a user file.

Each domain package ships ``<package>/defaults.toml``; :func:`section` returns that table merged
with the table of the same name in the user's configuration file. The user file is, in order,
the path in ``GEOLOOKUP_CONFIG`` or ``./geolookup.toml`` when it exists. Parsing uses the standard
library's ``tomllib``.
"""

from __future__ import annotations

import copy
import os
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import GeolookupError


def _user_file() -> Path | None:
    env = os.environ.get("GEOLOOKUP_CONFIG")
    if env:
        p = Path(env)
        if not p.is_file():
            raise GeolookupError(f"{p}: configuration file in GEOLOOKUP_CONFIG does not exist; fix the path or unset it")
        return p
    p = Path("geolookup.toml")
    return p if p.is_file() else None


def _read(path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise GeolookupError(f"{path}: invalid TOML ({exc}); fix the file") from None


def _merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def section(package: str, user_file: str | os.PathLike | None = None) -> dict[str, Any]:
    """Return the settings of one package.

    Input: the package name (``"matching"``, ``"nuts"``, ...) whose ``defaults.toml`` is read,
    and optionally an explicit user configuration file. Output: a nested dict, the package
    defaults with the user file's ``[<package>]`` table merged over them (nested tables merge
    key by key). A package without ``defaults.toml`` starts from an empty dict.
    Raises GeolookupError for a missing user file named in GEOLOOKUP_CONFIG or invalid TOML.
    """
    user = Path(user_file) if user_file else _user_file()
    stamp = user.stat().st_mtime_ns if user is not None and user.is_file() else None
    return copy.deepcopy(_section(package, str(user) if user else None, stamp))


@lru_cache(maxsize=64)
def _section(package: str, user: str | None, stamp: int | None) -> dict[str, Any]:
    # keyed by the user file's modification time: an edited file is read again, an unchanged one is not
    try:
        ref = resources.files(f"geolookup.{package}") / "defaults.toml"
        defaults = tomllib.loads(ref.read_text(encoding="utf-8")) if ref.is_file() else {}
    except ModuleNotFoundError:
        defaults = {}
    override = _read(user).get(package, {}) if user else {}
    return _merge(defaults, override)
