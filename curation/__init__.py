"""curation: review queues for curators, and the store of their decisions.

Public API: :func:`apply_decisions`, :func:`export_queue` / :func:`build_queue` /
:func:`auto_skips` (queue.py), :func:`import_queue` (importer.py), :func:`load_decisions` /
:func:`record_decisions` (store.py), :func:`territories` (territories.py), :func:`write_review_map`
(mapplot.py, imported lazily: it loads matplotlib).
"""

from .apply import apply_decisions, read_matches
from .importer import QueueImportError, import_queue
from .queue import auto_skips, build_queue, export_queue
from .store import Decision, load_decisions, load_log, record_decisions
from .territories import territories

__all__ = ["apply_decisions", "read_matches", "auto_skips", "build_queue", "export_queue", "import_queue",
           "QueueImportError", "Decision", "load_decisions", "load_log", "record_decisions", "territories"]
