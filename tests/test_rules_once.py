"""Each rule that the command line and the app share is written once, in ``core``: a second copy
found in the source is a failure (the CLI and the app would drift apart)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(p for folder in ("core", "cmanet_app", "scripts") for p in (ROOT / folder).rglob("*.py"))
MODES = {"optimize", "network", "network+refine"}


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def trees() -> list[tuple[str, ast.AST]]:
    return [(rel(p), ast.parse(p.read_text(), str(p))) for p in SOURCES]


def strings(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def test_the_fit_modes_are_listed_once():
    where = [name for name, tree in trees() for node in ast.walk(tree)
             if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and MODES <= strings(node)]
    assert where == ["core/fit/modes.py", "core/fit/modes.py"]  # FitMode's Literal and FIT_MODES


def test_the_default_mode_rule_is_written_once():
    """``network+refine`` with a network, else ``optimize``: one conditional, in core/fit/modes.py."""

    def network_mode(node: ast.AST) -> bool:
        return bool(strings(node) & {"network", "network+refine"}) or any(
            isinstance(n, ast.Name) and n.id == "NETWORK_DEFAULT_MODE" for n in ast.walk(node))

    where = [f"{name}:{node.lineno}" for name, tree in trees() for node in ast.walk(tree)
             if isinstance(node, ast.IfExp) and "optimize" in strings(node) and network_mode(node)]
    assert [w.split(":")[0] for w in where] == ["core/fit/modes.py"], where


def test_the_app_does_not_read_argparse_internals():
    where = [f"{name}:{node.lineno}" for name, tree in trees() if name.startswith("cmanet_app/")
             for node in ast.walk(tree)
             if isinstance(node, ast.Attribute) and node.attr in ("_actions", "_SubParsersAction", "choices")]
    assert not where, where


def test_output_folders_outside_the_inputs_are_checked_in_one_place():
    pattern = re.compile(r"\bin\s+[\w.()\[\]]+\.parents\b")
    where = {rel(p) for p in SOURCES if pattern.search(p.read_text())}
    assert where == {"core/io/folders.py"}


def test_config_overrides_are_validated_in_one_place():
    where = []
    for name, tree in trees():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            unpacks = any(k.arg is None for k in node.keywords)
            first = node.args[0] if node.args else None
            if called == "replace" and unpacks and isinstance(first, ast.Name) and first.id == "config":
                where.append(name)
            if called == "validate" and (name.startswith("cmanet_app/") or name.startswith("core/cli/")):
                where.append(name)
    assert where == ["core/fit/config.py"], where


def test_the_metrics_file_has_one_name_and_one_reader():
    named = [name for name, tree in trees() if "metrics.jsonl" in strings_outside_docstrings(tree)]
    assert named == ["core/train/metrics_log.py"]
    readers = [name for name, tree in trees() for node in ast.walk(tree)
               if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name in ("MetricsReader", "read_metrics")]
    assert readers == ["core/train/metrics_log.py", "core/train/metrics_log.py"]


def test_the_installed_model_is_found_in_one_place():
    where = {rel(p) for p in SOURCES if "DEFAULT_MODEL.is_file()" in p.read_text()}
    assert where == {"core/nets/checkpoint.py"}


def strings_outside_docstrings(tree: ast.AST) -> set[str]:
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return {n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings}
