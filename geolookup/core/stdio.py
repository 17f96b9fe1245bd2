"""``-`` as a file name: standard input for an input, standard output for an output.

Every reader and writer of the project takes a path (encodings are sniffed from bytes, outputs are
written atomically), so standard input is spooled to a temporary file first, and an output named ``-``
is written to a temporary file and copied to standard output once it is complete: a failed command
prints no half table.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Iterator

STDIO = "-"


def is_stdio(path) -> bool:
    """True when ``path`` is ``-``."""
    return str(path) == STDIO


@contextlib.contextmanager
def input_path(path, suffix: str = ".csv") -> Iterator[Path]:
    """A readable path for ``path``; for ``-``, a temporary copy of standard input (removed afterwards).

    Parameters
    ----------
    path : str or Path
        A file name, or ``-`` for standard input.
    suffix : str
        Extension of the temporary file (tells format-sniffing readers what it holds).
    """
    if not is_stdio(path):
        yield Path(path)
        return
    with tempfile.TemporaryDirectory(prefix="geolookup-stdin-") as tmp:
        spooled = Path(tmp) / f"stdin{suffix}"
        with open(spooled, "wb") as out:
            shutil.copyfileobj(sys.stdin.buffer, out, length=1 << 20)
        yield spooled


@contextlib.contextmanager
def output_path(path, suffix: str = ".csv") -> Iterator[Path]:
    """A writable path for ``path``; for ``-``, a temporary file copied to standard output on success.

    Parameters
    ----------
    path : str or Path
        A file name, or ``-`` for standard output.
    suffix : str
        Extension of the temporary file (selects the writer's format).
    """
    if not is_stdio(path):
        yield Path(path)
        return
    with tempfile.TemporaryDirectory(prefix="geolookup-stdout-") as tmp:
        target = Path(tmp) / f"stdout{suffix}"
        yield target
        sys.stdout.flush()
        with open(target, "rb") as fh:
            shutil.copyfileobj(fh, sys.stdout.buffer, length=1 << 20)
        sys.stdout.buffer.flush()
