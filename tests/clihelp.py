"""Running the console entry point in-process, and the project's one-line error contract."""

from __future__ import annotations

from geolookup.cli import main


def run_cli(capsys, *argv):
    """Run ``geolookup ARGV`` through the console entry point; returns (exit code, stdout, stderr)."""
    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *fragments):
    """Exit status 1, exactly one ``error: ...`` line on stderr, no traceback, and every fragment in it."""
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for f in fragments:
        assert f in err, err
