"""The packages, and the scenario library: it lives in scenarios/ beside the package and the
wheel carries it as mock_server/scenarios, so a plain `pip install` finds it (the rest of the
configuration is in setup.cfg)."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["mock_server", "mock_server.*"]), "mock_server.scenarios"],
    package_dir={"mock_server.scenarios": "scenarios"},
)
