# Every target builds .venv from nothing when it is missing or setup.cfg changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.dev-installed

.PHONY: run test lint types bench sandbox clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

# The linter and type checker come from the `dev` extra, installed only by the targets that use them.
$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[test,dev]'
	touch $(DEV_STAMP)

run: $(STAMP)
	$(BIN)/openqq demo

sandbox: $(STAMP)
	$(BIN)/openqq sandbox

# Two workers, a whole test file each (its module fixtures set up once); TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2

test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check openqq_sync tests bench contrib

# Strict on the package; the files and per-module settings are in pyproject.toml's [tool.mypy].
types: $(DEV_STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench $(if $(FULL),--full,)

clean:
	rm -rf $(VENV) build *.egg-info
