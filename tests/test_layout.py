"""The seam between the simulated cloud and the harness that bends it shows in the imports."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mock_server"


def _imports(path: Path) -> set[str]:
    """Every module a file imports, as an absolute dotted name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ["mock_server", *path.parent.relative_to(PACKAGE).parts]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            found.add(".".join([*base, *(node.module.split(".") if node.module else [])]))
    return found


def test_the_cloud_knows_nothing_of_flask_the_harness_or_the_http_layer():
    for path in sorted((PACKAGE / "cloud").glob("*.py")):
        bad = {m for m in _imports(path) if m.split(".")[0] in ("flask", "werkzeug", "yaml", "faker")}
        bad |= {m for m in _imports(path) if m.startswith(("mock_server.harness", "mock_server.api"))}
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_the_harness_does_not_reach_into_the_http_layer():
    for path in sorted((PACKAGE / "harness").glob("*.py")):
        bad = {m for m in _imports(path) if m.split(".")[0] in ("flask", "werkzeug")}
        bad |= {m for m in _imports(path) if m.startswith("mock_server.api")}
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_the_import_reader_sees_relative_imports():
    # A check that cannot fail is worthless: the reader must resolve `from ..harness import x`.
    assert "mock_server.harness.world" in _imports(PACKAGE / "api" / "declare.py")


def test_the_realtime_channel_stays_out_of_the_http_layer():
    for path in sorted((PACKAGE / "realtime").glob("*.py")):
        bad = {m for m in _imports(path) if m.split(".")[0] in ("flask", "werkzeug")}
        bad |= {m for m in _imports(path) if m.startswith("mock_server.api")}
        assert not bad, f"{path.name} imports {sorted(bad)}"
