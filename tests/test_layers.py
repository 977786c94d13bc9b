"""Layers point one way and no module imports itself back (STYLE.md, "One owner per fact").

`crawler` imports neither `jobs` nor `alerts`; `alerts` imports `crawler`, never `jobs` (not
even for typing); only `jobs` wires them together. And there is no import circle between the
project's modules, counting imports inside functions and under `TYPE_CHECKING` (a circle
hidden behind a function-level import is still a circle) and the package `__init__` that
importing a submodule runs. Read from the source with `ast`, so it stays true as code moves.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("crawler", "jobs", "alerts")
FORBIDDEN = {("crawler", "jobs"), ("crawler", "alerts"), ("alerts", "jobs")}


def project_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = project_modules()


def _module(name: str) -> str | None:
    """The project module a dotted name lives in (`jobs.config.load_config` -> `jobs.config`)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str) -> set[str]:
    """Every project module `module` imports anywhere in its body, and the packages above them."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(filter(None, (_module(alias.name) for alias in node.names)))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                target = _module(f"{base}.{alias.name}") or _module(base)
                if target:
                    targets.add(target)
    for target in list(targets):  # importing a.b.c runs a/__init__ and a/b/__init__ first
        parts = target.split(".")
        targets.update(".".join(parts[:k]) for k in range(1, len(parts)) if ".".join(parts[:k]) in MODULES)
    return {t for t in targets if t != module and not module.startswith(t + ".")}


GRAPH = {module: imports(module) for module in MODULES}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_layers_point_one_way(package):
    wrong = sorted((module, target) for module, targets in GRAPH.items() if module.split(".")[0] == package
                   for target in targets if (package, target.split(".")[0]) in FORBIDDEN)
    assert wrong == []


def test_no_import_circle():
    assert circles(GRAPH) == []


def test_the_check_sees_circles_and_layers():
    """The reader is not blind: a function-level import and a package __init__ both count."""
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert "jobs.config" in GRAPH["jobs.config.loader"] or "jobs.config" in GRAPH["jobs.scrapyd.settings"]
    assert "crawler.sources" in GRAPH["jobs.config.loader"]
