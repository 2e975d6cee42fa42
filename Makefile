# `make run` and `make test` work on a fresh machine with Python 3.11, pip and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ARGS   ?=

.PHONY: run test lint clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg setup.py pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/mock-server run $(ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check mock_server tests
	$(BIN)/mypy mock_server

test: lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

# Installs wrk from Debian's packages when it can (root, apt); falls back to a Python load
# generator otherwise. WireMock comes from npm into bench/.wiremock (bench/wiremock.py), py-spy
# with the `bench` extra. BENCH_ARGS="--quick" for a short run without the 1,000,000-share world;
# "--part peer" runs only the simulator against the limit, Flask and WireMock (one JVM at a time,
# warmed until settled: --warm-up S a round, --warm-cap S a load), "--part scaling" only the 100-
# against the 1,000,000-share world (--scaling-repeats N pairs), even with --quick; --seconds S,
# --repeats N and --out FILE (bench/results.md) for any part. bench/measure.py holds the rules.
BENCH_ARGS ?=
$(VENV)/.installed-bench: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $@

bench: $(VENV)/.installed-bench
	@command -v wrk >/dev/null || (command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		(apt-get install -y -q wrk >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null))) || \
		echo "wrk not available: using the Python load generator"
	$(BIN)/python bench/run.py $(BENCH_ARGS)
	$(MAKE) --no-print-directory $(VENV)/.installed-test && $(BIN)/python bench/mqtt_load.py
