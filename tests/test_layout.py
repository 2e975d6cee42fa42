"""The seam between the simulated cloud and the harness that bends it shows in the imports."""

from __future__ import annotations

import ast
import graphlib
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


def _constants(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]


def test_the_session_prefix_and_the_control_prefix_are_each_written_once():
    # One reader of /s/NAME/ (harness/worlds.session_path) for REST and the realtime channel,
    # one definition of /_mock (api/paths.py); the client-side plugin is not the server.
    sources = {p: _constants(p) for p in PACKAGE.rglob("*.py") if p.name != "pytest_plugin.py"}
    assert [p.name for p, c in sources.items() if "/_mock" in c] == ["paths.py"]
    readers = [p.name for p in sources if 'startswith("/s/")' in p.read_text(encoding="utf-8")]
    assert readers == ["worlds.py"]
    assert "mock_server.harness.worlds" in _imports(PACKAGE / "realtime" / "hub.py")


def test_the_thing_model_and_the_device_shadows_are_apart_with_no_import_circle():
    # things.py is the thing model alone; the devices' values (shadows.py) need the store, and
    # the store needs the thing model: no module of the cloud may come back round to itself.
    assert not {m for m in _imports(PACKAGE / "cloud" / "things.py") if m.startswith("mock_server.")}
    graph = {f"mock_server.cloud.{p.stem}": _cloud_modules(p) for p in (PACKAGE / "cloud").glob("*.py")}
    assert "mock_server.cloud.store" in graph["mock_server.cloud.shadows"]  # the reader sees `from . import x`
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError on a circle


def _cloud_modules(path: Path) -> set[str]:
    """The cloud modules a cloud module imports, `from . import x` and type-only imports too."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names = [node.module] if node.module else [alias.name for alias in node.names]
            found |= {"mock_server.cloud." + name.split(".")[0] for name in names}
    return found
