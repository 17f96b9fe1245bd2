"""curation: review queues for curators, and the store of their decisions.

Public API: :func:`apply_decisions` (CONTRACTS.md), :func:`export_queue` / :func:`build_queue`
(queue.py), :func:`import_queue` (importer.py), :func:`load_decisions` / :func:`record_decisions`
(store.py), :func:`write_review_map` (mapplot.py, imported lazily: it loads matplotlib).
"""

from .apply import apply_decisions, read_matches
from .importer import QueueImportError, import_queue
from .queue import build_queue, export_queue
from .store import Decision, load_decisions, load_log, record_decisions

__all__ = ["apply_decisions", "read_matches", "build_queue", "export_queue", "import_queue", "QueueImportError",
           "Decision", "load_decisions", "load_log", "record_decisions"]
