"""The ``geolookup`` command line. It only wires the domain packages together.

Each subcommand lives in its own module here and is imported only when it runs, so
``geolookup --help`` stays fast. Every subcommand gets the same conventions from :class:`LazyGroup`:

- ``--quiet`` (errors only, no progress bars) and ``--verbose`` (debug detail), through ``logging``
  (:mod:`geolookup.core.log`); each warning is printed once per run;
- ``--json``: the command's summary as one JSON object on stdout (the callback's return value);
- progress bars on stderr, shown on a terminal only;
- exit codes: see :data:`EXIT_CODES`.

A :class:`~geolookup.core.errors.GeolookupError` becomes a one-line ``error: ...`` on stderr and exit
status 1, never a traceback.
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import sys

import click

from ..core import log
from ..core.errors import GeolookupError

#: command name -> "module:attribute" of a click command, relative to this package.
COMMANDS = {
    "areas": "areas:areas",
    "enrich": "enrich:enrich",
    "match": "match:match",
    "build": "build:build",
    "review": "review:review",
    "policies": "policies:policies",
    "serve": "serve:serve",
}

#: Exit statuses of every command (documented in ``geolookup --help`` and the docs).
EXIT_CODES = {
    0: "done",
    1: "error in the input, the data or the environment (one 'error:' line says which and the fix)",
    2: "wrong command line (usage)",
    3: "done, but rows wait for a curator's review (build; --allow-review makes it 0)",
    130: "interrupted",
}

logger = logging.getLogger(__name__)


class ReviewPending(Exception):
    """Raised by a command that finished its work but left rows for a curator: exit status 3."""

    def __init__(self, summary=None):
        super().__init__("rows wait for review")
        self.summary = summary


def _common_options(command: click.Command) -> click.Command:
    """Give ``command`` (and a group's subcommands) ``--quiet``, ``--verbose`` and ``--json``."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _common_options(sub)
        return command
    if getattr(command, "_geolookup_common", False) or command.callback is None:
        return command
    command.params += [
        click.Option(["-q", "--quiet"], is_flag=True, help="Errors only: no summary, warnings or progress bars."),
        click.Option(["-v", "--verbose"], is_flag=True, help="Debug detail on stderr."),
        click.Option(["--json", "as_json"], is_flag=True, help="Print the summary as one JSON object on stdout."),
    ]
    inner = command.callback

    @functools.wraps(inner)
    def callback(*args, quiet=False, verbose=False, as_json=False, **kwargs):
        log.configure(-1 if quiet else (1 if verbose else 0))
        if as_json and any(str(kwargs.get(k)) == "-" for k in ("output", "out", "out_dir")):
            raise click.UsageError("--json prints the summary on stdout, where -o - sends the data; "
                                   "give -o FILE or leave out --json")
        try:
            summary = inner(*args, **kwargs)
        except ReviewPending as exc:
            if as_json and exc.summary is not None:
                click.echo(json.dumps(exc.summary, default=str))
            raise
        if as_json:
            click.echo(json.dumps(summary if summary is not None else {}, default=str))
        return summary

    command.callback = callback
    command._geolookup_common = True
    return command


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when that subcommand is used."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return _common_options(getattr(importlib.import_module(f"{__name__}.{module}"), attr))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]},
             epilog="Exit status: " + "; ".join(f"{k} {v}" for k, v in EXIT_CODES.items()) + ".")
@click.version_option(package_name="geolookup")
def cli():
    """geolookup: match provider places to GADM 3.6 GIDs and NUTS 2021, and build
    COVID-19 Data Hub-compatible lookup tables.

    Levels: GADM levels start at 0 (country); the Data Hub's administrative_area_level starts at 1.
    Every command takes --quiet, --verbose and --json; "-" as a file name means stdin or stdout where
    the format allows it.
    """


def main(argv=None):
    """Console-script entry point: run the CLI and turn user errors into one line on stderr.

    Exit statuses are :data:`EXIT_CODES`.
    """
    log.configure(0)
    try:
        cli.main(args=argv, standalone_mode=False)
    except GeolookupError as exc:
        logger.error("%s", exc)
        sys.exit(1)
    except ReviewPending:
        sys.exit(3)
    except OSError as exc:  # disk full, permission denied, ...: the atomic writes left old files whole
        where_ = f"{exc.filename}: " if exc.filename else ""
        logger.error("%s%s; nothing was replaced by a partial file, fix and run again", where_, exc.strerror or exc)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)


state_dir_option = click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=str),
    default=None,
    help="Writable folder for minted ids and curators' decisions (default: $GEOLOOKUP_STATE, then ./.geolookup).",
)

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=str),
    default=None,
    help="Folder with GADM 3.6 / NUTS / provider files (default: $GEOLOOKUP_DATA, then the user cache).",
)
