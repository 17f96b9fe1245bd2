"""The ``geolookup`` command line. It only wires the domain packages together.

Each subcommand lives in its own module here and is imported only when it runs, so
``geolookup --help`` stays fast. A :class:`~geolookup.core.errors.GeolookupError` becomes a one-line
``error: ...`` on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import importlib
import sys
import warnings

import click

from ..core.errors import GeolookupError

#: command name -> "module:attribute" of a click command, relative to this package.
COMMANDS = {
    "areas": "areas:areas",
    "enrich": "enrich:enrich",
    "match": "match:match",
    "build": "build:build",
    "review": "review:review",
    "policies": "policies:policies",
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when that subcommand is used."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="geolookup")
def cli():
    """geolookup: match provider places to GADM 3.6 GIDs and NUTS 2021, and build
    COVID-19 Data Hub-compatible lookup tables."""


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    """Show each distinct warning once, as ``warning: <message>`` on stderr (no source line)."""
    text = " ".join(str(message).split())
    if text not in _shown:
        _shown.add(text)
        click.echo(f"warning: {text}", err=True)


_shown: set[str] = set()


def main(argv=None):
    """Console-script entry point: run the CLI, turning user errors into one line on stderr
    and warnings (e.g. repaired GADM geometry) into one ``warning:`` line each."""
    warnings.showwarning = _one_line_warning
    try:
        cli.main(args=argv, standalone_mode=False)
    except GeolookupError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:  # disk full, permission denied, ...: the atomic writes left old files whole
        where_ = f"{exc.filename}: " if exc.filename else ""
        click.echo(f"error: {where_}{exc.strerror or exc}; nothing was replaced by a partial file, fix and run again",
                   err=True)
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
