"""Conventions every command shares: --quiet, --verbose, --json, exit codes, warnings once."""

from __future__ import annotations

import json
import logging
import warnings

import pandas as pd
import pytest

from clihelp import run_cli
from geolookup.cli import EXIT_CODES, COMMANDS, cli
from geolookup.core import log


def test_every_command_takes_the_common_options():
    import click

    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        leaves = command.commands.values() if isinstance(command, click.Group) else [command]
        for leaf in leaves:
            opts = {o for p in leaf.params for o in getattr(p, "opts", [])}
            assert {"--quiet", "--verbose", "--json"} <= opts, (name, leaf.name)


def test_help_documents_exit_codes(capsys):
    code, out, _ = run_cli(capsys, "--help")
    assert code == 0
    text = " ".join(out.split())
    for status, meaning in EXIT_CODES.items():
        assert f"{status} {meaning}" in text


def test_json_summary_of_areas(capsys, data_root, tmp_path):
    out_file = tmp_path / "ita.csv"
    code, out, err = run_cli(capsys, "areas", "ITA", "--level", "1", "-o", out_file, "--data-dir", data_root, "--json")
    assert code == 0, err
    summary = json.loads(out)
    written = pd.read_csv(out_file, dtype=str)
    assert summary["areas"] == len(written) == 20
    assert summary["nuts_method"]["within"] + summary["nuts_method"]["nearest"] == 20
    assert summary["output"] == str(out_file)


def test_quiet_prints_nothing_and_verbose_shows_debug(capsys, data_root, tmp_path):
    code, out, err = run_cli(capsys, "areas", "ITA", "--level", "1", "-o", tmp_path / "a.csv", "--data-dir",
                             data_root, "--quiet")
    assert (code, out, err) == (0, "", "")
    code, _, err = run_cli(capsys, "areas", "ITA", "--level", "1", "-o", tmp_path / "b.csv", "--data-dir", data_root)
    assert code == 0 and err.startswith("areas: 20 GADM level-1 areas of ITA")


def test_each_warning_once_per_run(capsys):
    log.configure(0, rich=False)
    logger = logging.getLogger("geolookup.test")
    for _ in range(3):
        logger.warning("column %s is empty", "population")
        warnings.warn("the same python warning", UserWarning)
    logger.warning("another one")
    err = capsys.readouterr().err.splitlines()
    assert err == ["warning: column population is empty", "warning: the same python warning",
                   "warning: another one"]
    log.configure(-1, rich=False)
    logger.warning("hidden")
    logger.error("shown")
    assert capsys.readouterr().err == "error: shown\n"


@pytest.mark.parametrize("argv", [["areas"], ["nope"]])
def test_usage_errors_exit_2(capsys, argv):
    code, _, _ = run_cli(capsys, *argv)
    assert code == 2


def test_dash_writes_the_table_to_stdout(capsysbinary, data_root, tmp_path):
    import io

    from geolookup.cli import main

    main(["areas", "ITA", "--level", "1", "-o", "-", "--data-dir", str(data_root), "--quiet"])
    captured = capsysbinary.readouterr()
    table = pd.read_csv(io.BytesIO(captured.out), dtype=str)
    filed = tmp_path / "ita.csv"
    main(["areas", "ITA", "--level", "1", "-o", str(filed), "--data-dir", str(data_root), "--quiet"])
    assert captured.err == b"" and len(table) == 20
    assert table.equals(pd.read_csv(filed, dtype=str))  # the same table as -o FILE


def test_json_and_dash_output_conflict(capsys, data_root):
    code, out, err = run_cli(capsys, "areas", "ITA", "--level", "1", "-o", "-", "--json", "--data-dir", data_root)
    assert code == 2 and "--json" in err and out == ""


def test_match_reads_stdin_and_writes_stdout(data_root, tmp_path):
    import subprocess
    import sys

    env = {**__import__("os").environ, "GEOLOOKUP_DATA": str(data_root), "GEOLOOKUP_STATE": str(tmp_path / "s")}
    cmd = [sys.executable, "-m", "geolookup", "match", "-", "--country", "ITA", "--gadm-level", "1",
           "--name-col", "name", "-o", "-"]
    run = subprocess.run(cmd + ["--source", "pipe"], input="name\nPuglia\nLombardia\n", capture_output=True,
                         text=True, env=env)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("name,gid,") and [line.split(",")[1] for line in lines[1:]] == ["ITA.2_1", "ITA.10_1"]
    assert "2 rows -> -" in run.stderr
    nosource = subprocess.run(cmd, input="name\nPuglia\n", capture_output=True, text=True, env=env)
    assert nosource.returncode == 1 and nosource.stderr.startswith("error: ") and "--source" in nosource.stderr


def test_enrich_reads_stdin_and_writes_stdout(data_root, tmp_path):
    import io
    import subprocess
    import sys

    env = {**__import__("os").environ, "GEOLOOKUP_DATA": str(data_root)}
    run = subprocess.run([sys.executable, "-m", "geolookup", "enrich", "-", "--lat-col", "lat", "--lon-col", "lon",
                          "--country", "ITA", "-o", "-"], input="id,lat,lon\n007,41.9,12.5\n008,45.46,9.19\n",
                         capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    out = pd.read_csv(io.StringIO(run.stdout), dtype=str)
    assert out["id"].tolist() == ["007", "008"] and out["nuts_3"].tolist() == ["ITI43", "ITC4C"]
    assert out["gid"].str.startswith("ITA.").all() and "2 rows written to -" in run.stderr
