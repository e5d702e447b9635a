"""Imports point one way: plugins use core's public names; core never imports a plugin or torch,
and its modules import each other without a cycle (function-level imports included)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORE = REPO / "seqframe"
PLUGIN_ROOTS = [REPO / "plugins", REPO / "tasks", REPO / "docs" / "plugins" / "examples"]


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def core_modules() -> dict[str, Path]:
    return {module_name(p, REPO): p for p in CORE.rglob("*.py")}


def imports_of(path: Path, name: str, known: set[str]) -> list[tuple[str, int]]:
    """Every module ``path`` imports (anywhere in the file), as absolute names, with line."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.append((full if full in known else base, node.lineno))
    return found


def test_core_never_imports_a_plugin_or_torch():
    modules = core_modules()
    bad = [f"{name}:{line} imports {target}"
           for name, path in modules.items()
           for target, line in imports_of(path, name, set(modules))
           if target.split(".")[0] == "torch" or target.split(".")[0].startswith("seqframe_")]
    assert not bad, "core must reach plugins through the registry only:\n" + "\n".join(bad)


def test_core_modules_import_each_other_without_a_cycle():
    modules = core_modules()
    graph = {name: sorted({t for t, _ in imports_of(path, name, set(modules)) if t in modules
                           and t != name})
             for name, path in modules.items()}
    cycles = [scc for scc in strongly_connected(graph) if len(scc) > 1]
    assert not cycles, f"import cycles among core modules: {cycles}"


def strongly_connected(graph: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm (iterative): the strongly connected components of ``graph``."""
    index, low, on_stack, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(sorted(component))
    return out


def private_uses(path: Path) -> list[str]:
    """Private (``_``-prefixed) seqframe names a plugin file imports or reaches for."""
    tree = ast.parse(path.read_text("utf-8"))
    core_aliases, found = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "seqframe":
            module = node.module or ""
            if any(part.startswith("_") for part in module.split(".")):
                found.append(f"{node.lineno}: from {module} import ...")
            for alias in node.names:
                if alias.name.startswith("_"):
                    found.append(f"{node.lineno}: from {module} import {alias.name}")
                core_aliases.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "seqframe":
                    core_aliases.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not node.attr.startswith("__") and _root_name(node) in core_aliases):
            found.append(f"{node.lineno}: .{node.attr}")
    return found


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def test_plugins_and_tasks_use_only_public_core_names():
    bad = [f"{path.relative_to(REPO)}:{use}"
           for root in PLUGIN_ROOTS for path in root.rglob("*.py")
           for use in private_uses(path)]
    assert not bad, "plugins may use core's public names only:\n" + "\n".join(bad)


def test_the_checks_see_what_they_look_for(tmp_path):
    """The checks above can fail: planted private uses, a planted cycle, a planted import."""
    planted = tmp_path / "plugin.py"
    planted.write_text("from seqframe.engine import bptt\nfrom seqframe.engine.bptt import "
                       "_hidden\nbptt._count(1)\n")
    assert private_uses(planted) == ["2: from seqframe.engine.bptt import _hidden", "3: ._count"]
    assert strongly_connected({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [
        ["a", "b", "c"], ["d"]]
    core = tmp_path / "seqframe" / "engine"
    core.mkdir(parents=True)
    (core / "x.py").write_text("def f():\n    from ..training import y\n    import torch\n")
    assert imports_of(core / "x.py", "seqframe.engine.x", {"seqframe.training.y"}) == [
        ("seqframe.training.y", 2), ("torch", 3)]
