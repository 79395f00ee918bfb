"""House rules a test can check: core never imports Streamlit; public names are documented."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "core"
FILES = sorted(CORE.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORE)))
def test_core_never_imports_streamlit(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        assert not any(n.split(".")[0] == "streamlit" for n in names), f"{path} imports streamlit"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORE)))
def test_public_core_names_have_docstrings(path):
    tree = ast.parse(path.read_text())
    missing = [
        n.name
        for n in tree.body
        if isinstance(n, ast.FunctionDef | ast.ClassDef)
        and not n.name.startswith("_")
        and not ast.get_docstring(n)
    ]
    assert not missing, f"{path.name}: no docstring for {missing}"
