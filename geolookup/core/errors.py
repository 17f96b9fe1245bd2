"""The one error type users see.

Every error meant for a user is a :class:`GeolookupError` whose message is one line naming the
file, the row (when there is one) and the fix. The CLI prints it as ``error: <message>`` and exits
with status 1, never with a traceback.
"""


class GeolookupError(Exception):
    """A user-facing error with a one-line message (file, row, fix)."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class DataNotFoundError(GeolookupError):
    """A data file (GADM archive, NUTS file, provider file) is neither local nor downloadable."""


class InputError(GeolookupError):
    """A user-supplied file is malformed: missing columns, bad values, bad encoding, empty."""


def where(path, row: int | None = None, column: str | None = None) -> str:
    """Format ``file[, row N][, column C]`` for error messages.

    Rows are numbered as a spreadsheet or a text editor shows them: the header is row 1 and the
    first data row is row 2. Every message of the project uses this one convention.
    """
    parts = [str(path)]
    if row is not None:
        parts.append(f"row {row}")
    if column is not None:
        parts.append(f"column {column!r}")
    return ", ".join(parts)
