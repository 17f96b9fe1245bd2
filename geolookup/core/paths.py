"""Is an output one of the command's inputs? No command writes over a file it reads.

Compared as the operating system sees files (``os.path.samefile``: symlinks, hard links, ``./x`` and
``x`` are one file) when both exist, else by resolved absolute paths.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import InputError


def same_file(a, b) -> bool:
    """True when paths ``a`` and ``b`` name the same file (existing or not)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()


def expand_inputs(paths, pattern: str = "*.csv") -> list[Path]:
    """Input paths with every folder replaced by the files of it the command reads (``pattern``)."""
    out = []
    for p in paths:
        p = Path(p)
        out += sorted(p.glob(pattern)) if p.is_dir() else [p]
    return out


def refuse_overwrite(output, inputs, option: str = "-o") -> None:
    """Raise InputError (one line: the file, the input it would replace, the fix) when ``output`` is one
    of ``inputs`` (files; expand folders with :func:`expand_inputs`). Nothing has been written then."""
    if str(output) == "-":  # standard output replaces no file
        return
    for inp in inputs:
        if str(inp) != "-" and same_file(output, inp):
            raise InputError(f"{output}: {option} names an input of this command ({inp}); writing would replace it; "
                             "give another output file")
