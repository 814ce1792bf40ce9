"""The layering of ``core``: packages import each other without cycles, at module level (the
command table of ``core.cli`` alone imports a command's module when it runs, to start fast), and
``core`` never imports Qt or the app."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "core"
# Top-level modules of third-party GUI code and of the app that ``core`` must never import.
FORBIDDEN_ROOTS = ("PySide6", "PyQt5", "PyQt6", "shiboken6", "qtpy", "pytestqt", "cmanet_app")


@dataclass(frozen=True)
class Import:
    """One import statement of ``module``: the module it names, and whether it sits in a function."""

    module: str
    target: str
    in_function: bool
    line: int


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_of(module: str) -> str:
    """``core.fit.iev`` -> ``core.fit``; a top-level module (``core.errors``) is its own package."""
    return ".".join(module.split(".")[:2])


def imports_of(path: Path, root: Path = ROOT) -> list[Import]:
    """Every import in ``path`` (relative ones resolved), with the module each names."""
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            local = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend(Import(module, alias.name, local, child.lineno) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                found.append(Import(module, target, local, child.lineno))
            visit(child, local)

    visit(ast.parse(path.read_text(), str(path)), False)
    return found


def core_imports() -> list[Import]:
    return [imp for path in sorted(CORE.rglob("*.py")) for imp in imports_of(path)]


def package_graph(imports: list[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for imp in imports:
        if imp.target == "core" or imp.target.startswith("core."):
            source, target = package_of(imp.module), package_of(imp.target)
            graph.setdefault(source, set())
            if source != target:
                graph[source].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` as a list of nodes (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_reports_a_cycle_and_accepts_a_layered_graph():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_imports_of_sees_function_local_and_relative_imports(tmp_path):
    pkg = tmp_path / "core" / "fit"
    pkg.mkdir(parents=True)
    source = pkg / "mod.py"
    source.write_text("import numpy\nfrom . import iev\n\ndef f():\n    from core.nets import predict\n")
    found = imports_of(source, tmp_path)
    assert [(i.target, i.in_function) for i in found] == [("numpy", False), ("core.fit", False), ("core.nets", True)]


def test_core_packages_import_each_other_without_cycles():
    graph = package_graph(core_imports())
    assert "core.canonical" in graph and "core.fit" in graph and "core.nets" in graph
    assert find_cycle(graph) is None, f"import cycle between core packages: {' -> '.join(find_cycle(graph))}"


def test_canonical_sits_below_the_fitter_and_the_networks():
    graph = package_graph(core_imports())
    assert "core.canonical" in graph["core.fit"] and "core.canonical" in graph["core.nets"]
    assert not graph["core.canonical"] & {"core.fit", "core.nets", "core.synth", "core.train", "core.bench"}
    assert "core.synth" not in graph["core.fit"], "the fitter's pose prior must not need the synthetic-data generator"


def test_no_function_local_import_of_another_core_package_outside_the_cli():
    local = [
        f"{imp.module}:{imp.line} imports {imp.target}"
        for imp in core_imports()
        if imp.in_function
        and imp.target.startswith("core")
        and package_of(imp.module) != "core.cli"
        and package_of(imp.target) != package_of(imp.module)
    ]
    assert not local, "function-local imports between core packages:\n" + "\n".join(local)


def test_core_never_imports_qt_or_the_app():
    bad = [
        f"{imp.module}:{imp.line} imports {imp.target}"
        for imp in core_imports()
        if imp.target.split(".")[0] in FORBIDDEN_ROOTS
    ]
    assert not bad, "\n".join(bad)
