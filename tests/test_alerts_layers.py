"""Layers point one way: the alerts package imports crawler, never jobs (not even for typing)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ALERTS = Path(__file__).resolve().parent.parent / "alerts"


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted(ALERTS.rglob("*.py")), ids=lambda p: str(p.relative_to(ALERTS)))
def test_alerts_never_import_jobs(path):
    assert not {name for name in imported(path) if name == "jobs" or name.startswith("jobs.")}
