# Two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8080
export PORT

.PHONY: run test lint typecheck unit integration bench clean

# `pip install` compiles the request path's modules with mypyc (setup.py; about a minute).
# Compiled code also builds in what it knows of the modules it imports (types, Final
# constants), so a change to any source rebuilds: tests never run a stale build.
# MPMD_PURE=1 installs plain Python instead (`make clean` first removes a compiled build).
SOURCES := $(shell find src/mpmd -name '*.py')

$(BIN)/mpmd: pyproject.toml setup.py $(SOURCES)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

run: $(BIN)/mpmd
	$(BIN)/mpmd -DFOREGROUND

lint: $(BIN)/mpmd
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(BIN)/mpmd
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest -q -n 2 tests

bench: $(BIN)/mpmd
	bench/run

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
	find src -name '*.so' -delete
