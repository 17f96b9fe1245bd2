"""One import name, and imports that follow the data flow gadm/nuts -> matching -> curation -> lookup.

The layer rule is read from the source itself (every ``import`` and ``from ... import`` statement,
top level or inside functions), so a new module cannot slip an upward import past it.
"""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

import geolookup

ROOT = Path(geolookup.__file__).resolve().parent.parent
#: sub-package -> folder in the repository (setuptools package-dir mapping in pyproject.toml).
FOLDERS = {"core": ROOT / "geolookup" / "core", "gadm": ROOT / "gadm", "nuts": ROOT / "nuts",
           "matching": ROOT / "matching", "curation": ROOT / "curation", "lookup": ROOT / "lookup"}
#: what each layer may import of geolookup (besides itself).
ALLOWED = {
    "core": set(),
    "gadm": {"core"},
    "nuts": {"core"},
    "matching": {"core", "gadm", "nuts"},
    "curation": {"core", "gadm", "nuts", "matching"},
    "lookup": {"core", "gadm", "nuts", "matching", "curation"},
}


def _package_of(module: str, node: ast.AST, here: str) -> str | None:
    """The geolookup sub-package an import names ("top" for geolookup itself, cli, pipeline, ...)."""
    if isinstance(node, ast.ImportFrom) and node.level:
        return here if node.level == 1 or here == "core" else "top"  # relative imports stay in the package
    parts = module.split(".")
    if parts[0] != "geolookup":
        return None
    return parts[1] if len(parts) > 1 else "top"


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.module == "geolookup" and not node.level:
                for alias in node.names:  # from geolookup import gadm
                    yield node, f"geolookup.{alias.name}"
            else:
                yield node, node.module or ""


@pytest.mark.parametrize("layer", sorted(FOLDERS))
def test_imports_follow_the_data_flow(layer):
    wrong = []
    for path in sorted(FOLDERS[layer].rglob("*.py")):
        for node, module in _imports(path):
            if module.split(".")[0] in ("gadm", "nuts", "matching", "curation", "lookup"):
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {module} (use geolookup.{module})")
                continue
            target = _package_of(module, node, layer)
            if target is None or target == layer:
                continue
            if target not in ALLOWED[layer]:
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {module} ({layer} may import "
                             f"{', '.join(sorted(ALLOWED[layer])) or 'nothing of geolookup'})")
    assert not wrong, "\n".join(wrong)


def test_one_top_level_import_name(tmp_path):
    dist = importlib.metadata.distribution("geolookup")
    assert dist.read_text("top_level.txt").split() == ["geolookup"]
    code = ("import importlib.util, geolookup.gadm, geolookup.nuts, geolookup.matching, geolookup.curation, "
            "geolookup.lookup\n"
            "print(*[n for n in ('gadm', 'nuts', 'matching', 'curation', 'lookup') "
            "if importlib.util.find_spec(n) is not None])")
    run = subprocess.run([sys.executable, "-P", "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == ""  # none of the generic names is importable on its own



def test_every_sub_package_is_installed():
    """A folder with ``__init__.py`` missing from pyproject's package list would be left out of the wheel."""
    import importlib.util

    missing = []
    roots = {"geolookup": ROOT / "geolookup", **{f"geolookup.{k}": v for k, v in FOLDERS.items() if k != "core"}}
    for dotted, folder in roots.items():
        for init in folder.rglob("__init__.py"):
            rel = init.parent.relative_to(folder).parts
            name = ".".join((dotted, *rel))
            if importlib.util.find_spec(name) is None:
                missing.append(name)
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"


def test_no_import_cycle_between_modules():
    """Imports between the modules of each package (lazy ones too) form no cycle: a cycle hides which
    module is the base."""
    graph: dict[str, set[str]] = {}
    for layer, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            name = ".".join([layer, *[p for p in rel.parts if p != "__init__"]])
            pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
            deps = graph.setdefault(name, set())
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):  # lazy imports count too
                if isinstance(node, ast.ImportFrom) and node.level:
                    base = pkg.rsplit(".", node.level - 1)[0] if node.level > 1 else pkg
                    mod = f"{base}.{node.module}" if node.module else base
                    deps.add(mod)
                    deps.update(f"{mod}.{a.name}" for a in node.names)
    seen, stack = set(), []

    def visit(n):
        if n in stack:
            raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(n):] + [n]))
        if n in seen or n not in graph:
            return
        stack.append(n)
        for d in graph[n]:
            if not d.endswith(".__init__") and d != n.rsplit(".", 1)[0]:
                visit(d)
        stack.pop()
        seen.add(n)

    for n in list(graph):
        visit(n)


def test_docstrings_cite_sources_not_issue_numbers():
    """Rules cite the paper or the Data Hub's behaviour; an issue number means nothing to a reader."""
    import re

    pattern = re.compile(r"\bissue\s*#?\d|CONTRACTS\.md", re.IGNORECASE)
    found = []
    for folder in [ROOT / "geolookup", *[f for k, f in FOLDERS.items() if k != "core"]]:
        for path in folder.rglob("*.py"):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "\n".join(found)
