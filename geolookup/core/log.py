"""Logging for the command line, the service and notebooks: one handler, each warning once, progress bars.

Every module logs through ``logging.getLogger(__name__)``; Python warnings (geometry repairs, pandas
notices) reach the same handler through :func:`logging.captureWarnings`. :func:`configure` sets the
verbosity the CLI's ``--quiet`` / ``--verbose`` ask for:

======== ===================================================
verbosity shown on stderr
======== ===================================================
-1       errors only (``--quiet``); no progress bars
0        summary lines (INFO), warnings, errors
1        and DEBUG detail (``--verbose``)
======== ===================================================

On a terminal the lines go through rich's handler; elsewhere (pipes, CI logs, tests) each is one plain
line ``warning: ...`` / ``error: ...`` / the message itself for INFO, so scripts can grep them. A
warning whose text was already shown in this run is not shown again.
"""

from __future__ import annotations

import logging
import sys
import warnings
from typing import Iterable

ROOT = "geolookup"

_state = {"verbosity": 0}


class _StderrHandler(logging.StreamHandler):
    """A stream handler that writes to the *current* ``sys.stderr`` (test capture swaps it)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):  # StreamHandler.__init__ assigns it; the property always reads sys.stderr
        pass


class _PlainFormatter(logging.Formatter):
    """``message`` for INFO and below, ``warning: message`` / ``error: message`` above; one line each."""

    def format(self, record):
        text = " ".join(record.getMessage().split())
        if record.levelno >= logging.ERROR:
            return f"error: {text}"
        if record.levelno >= logging.WARNING:
            return f"warning: {text}"
        return text


class _OncePerRun(logging.Filter):
    """Drop a warning whose text was already shown since the last :func:`configure`."""

    def __init__(self):
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record):
        if record.levelno < logging.WARNING or record.levelno >= logging.ERROR:
            return True
        key = " ".join(record.getMessage().split())
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def _showwarning(message, category, filename, lineno, file=None, line=None):
    """Route a Python warning to the ``geolookup`` logger as one line (no source line).

    Geometry repairs of GADM's or GISCO's own polygons are information, not something a user can
    act on: they are logged at INFO, so ``--quiet`` hides them.
    """
    from .geomrepair import GeometryRepairWarning

    level = logging.INFO if issubclass(category, GeometryRepairWarning) else logging.WARNING
    logging.getLogger(f"{ROOT}.warnings").log(level, "%s", message)


def configure(verbosity: int = 0, rich: bool | None = None) -> logging.Logger:
    """Set up the ``geolookup`` logger for one run of a command.

    Parameters
    ----------
    verbosity : int
        -1 errors only (``--quiet``), 0 summaries and warnings, 1 debug detail (``--verbose``).
    rich : bool, optional
        Use rich's handler; default: when stderr is a terminal.

    Returns
    -------
    logging.Logger
        The ``geolookup`` logger. Calling again replaces its handler and forgets which warnings were shown.
    """
    _state["verbosity"] = verbosity
    logger = logging.getLogger(ROOT)
    for h in list(logger.handlers):
        logger.removeHandler(h)
    if rich is None:
        rich = sys.stderr.isatty()
    if rich:
        from rich.console import Console
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(console=Console(stderr=True), show_time=False, show_path=False,
                                               markup=False, rich_tracebacks=False)
    else:
        handler = _StderrHandler()
        handler.setFormatter(_PlainFormatter())
    handler.addFilter(_OncePerRun())
    logger.addHandler(handler)
    logger.setLevel({-1: logging.ERROR, 0: logging.INFO}.get(verbosity, logging.DEBUG))
    logger.propagate = False
    # pooch announces each download at INFO on its own handler; follow our verbosity
    logging.getLogger("pooch").setLevel(logging.INFO if verbosity >= 0 else logging.ERROR)
    warnings.showwarning = _showwarning
    return logger


def quiet() -> bool:
    """True when the current run asked for ``--quiet``."""
    return _state["verbosity"] < 0


def progress(iterable: Iterable | None = None, total: int | None = None, desc: str | None = None,
             unit: str = "it", **kwargs):
    """A progress bar on stderr for long work: shown on a terminal, hidden elsewhere and with ``--quiet``.

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate; or None to call ``update`` by hand.
    total : int, optional
        Number of steps (``len(iterable)`` when it has one).
    desc, unit : str
        Label and unit shown on the bar.
    **kwargs
        Passed to :class:`tqdm.tqdm` (e.g. ``unit_scale=True``).

    Returns
    -------
    tqdm.tqdm
        Usable as an iterator and as a context manager.
    """
    from tqdm import tqdm

    disable = quiet() or not sys.stderr.isatty()
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr, disable=disable, leave=False, **kwargs)
