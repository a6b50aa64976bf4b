# Quick start: `make experiment` runs the main job, `make test` runs lint and tests.
# Both create .venv (Python 3.11 preferred) and install jcomp into it on first use.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: experiment test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

experiment: $(BIN)/.installed
	$(BIN)/jcomp run marina-p

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m pytest -n auto -m "not slow"

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_marina_p_step.py

clean:
	rm -rf $(VENV) results .pytest_cache .ruff_cache
