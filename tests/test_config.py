"""Configuration merge (geolookup.core.config) and the CLI's one-line errors (geolookup.cli)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from geolookup.core import config
from geolookup.core.errors import GeolookupError


def test_user_file_overrides_package_defaults(tmp_path, monkeypatch):
    base = config.section("nuts")
    assert base, "nuts/defaults.toml must ship settings"
    key = next(iter(base))
    user = tmp_path / "geolookup.toml"
    user.write_text(f"[nuts]\n{key} = 123\n[nuts.extra]\nx = 1\n")
    monkeypatch.setenv("GEOLOOKUP_CONFIG", str(user))
    merged = config.section("nuts")
    assert merged[key] == 123 and merged["extra"] == {"x": 1}
    assert {k for k in base if k != key} <= set(merged)


def test_bad_config_is_one_line_error(tmp_path, monkeypatch):
    bad = tmp_path / "bad.toml"
    bad.write_text("[nuts\n")
    monkeypatch.setenv("GEOLOOKUP_CONFIG", str(bad))
    with pytest.raises(GeolookupError, match="bad.toml: invalid TOML"):
        config.section("nuts")
    monkeypatch.setenv("GEOLOOKUP_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(GeolookupError, match="does not exist"):
        config.section("nuts")


def test_cli_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "geolookup", "--help"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for name in ("areas", "enrich", "match", "build", "review", "policies"):
        assert name in out.stdout


def test_cli_user_error_is_one_line_without_traceback(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "geolookup", "match", str(tmp_path / "missing.csv"), "--country", "ITA",
         "--gadm-level", "1", "--name-col", "x", "-o", str(tmp_path / "o.csv")],
        capture_output=True, text=True,
    )
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    assert out.stderr.strip().count("\n") == 0 and out.stderr.startswith(("error:", "Usage:"))


def test_cli_repair_notice_is_one_line_and_quiet_hides_it(data_root, tmp_path):
    """USA's GADM layer has invalid polygons: the repair notice reaches the user as one line, once,
    and ``--quiet`` leaves stderr empty."""
    cmd = [sys.executable, "-m", "geolookup", "areas", "USA", "--level", "2", "-o", str(tmp_path / "usa.csv"),
           "--data-dir", str(data_root)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    repair_lines = [line for line in out.stderr.splitlines() if "make_valid" in line]
    assert len(repair_lines) == 1 and repair_lines[0].startswith("gadm36_USA_gpkg.zip layer gadm36_USA_2: repaired")
    assert "Traceback" not in out.stderr and "load_areas(" not in out.stderr
    quiet = subprocess.run(cmd + ["--quiet"], capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == ""
