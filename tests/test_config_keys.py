"""Every configuration key the package reads is declared, with its default, in app.DEFAULTS
(Flask's own keys in Flask's defaults): a key read but never declared has no default a
reader of app.py can see, and a `config.get` default elsewhere can drift from it."""

from __future__ import annotations

import ast
from pathlib import Path

from flask import Flask

import mock_server
from mock_server.app import DEFAULTS

PACKAGE = Path(mock_server.__file__).parent


def _is_config(node: ast.expr) -> bool:
    """`config` or `<anything>.config`: the app's configuration."""
    return (isinstance(node, ast.Name) and node.id == "config") or (
        isinstance(node, ast.Attribute) and node.attr == "config"
    )


def config_reads(source: str) -> set[str]:
    """The literal keys `source` reads as config[KEY], config.get(KEY, ...) or
    config.setdefault(KEY, ...)."""
    keys = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and _is_config(node.value):
            key = node.slice
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("get", "setdefault")
            and _is_config(node.func.value)
            and node.args
        ):
            key = node.args[0]
        else:
            continue
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            keys.add(key.value)
    return keys


def package_reads() -> dict[str, set[str]]:
    return {
        str(path.relative_to(PACKAGE)): keys
        for path in sorted(PACKAGE.rglob("*.py"))
        if (keys := config_reads(path.read_text(encoding="utf-8")))
    }


def test_the_scanner_sees_every_form_of_read():
    source = 'a = app.config["A"]\nb = config.get("B", 1)\nc = current_app.config.setdefault("C", 2)\nd = other["D"]\n'
    assert config_reads(source) == {"A", "B", "C"}


def test_every_key_the_package_reads_is_declared():
    reads = package_reads()
    found = set().union(*reads.values())
    assert {"MAX_CONTENT_LENGTH", "ADMIN_TOKEN", "MQTT_PORT"} <= found  # the scan reaches the package
    undeclared = {
        f"{module}: {key}"
        for module, keys in reads.items()
        for key in keys
        if key not in DEFAULTS and key not in Flask.default_config
    }
    assert not undeclared, "declare these in mock_server/app.py DEFAULTS: " + ", ".join(sorted(undeclared))


def test_every_declared_key_is_read():
    """A default nobody reads is a setting that does nothing."""
    found = set().union(*package_reads().values())
    assert set(DEFAULTS) <= found, sorted(set(DEFAULTS) - found)
