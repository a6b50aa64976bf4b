# Quick start: `make experiment` runs the main job, `make test` runs lint and tests.
# Both create .venv (Python 3.11 preferred) and install jcomp into it on first use.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: experiment test test-slow lint bench clean

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
	$(BIN)/python -m pytest -n auto --dist loadscope -m "not slow"

# The long checks the default run leaves out (CI runs them after `make test`).
test-slow: $(BIN)/.installed
	$(BIN)/python -m pytest -n auto --dist loadscope -m slow

# The benchmark suite (about 30 minutes on a 2-core CPU; see BENCHMARKS.md). MiniFL and torch
# come from the bench extras; on the development machine `pip install torch==2.13.0` first takes
# the CPU wheel that lies on disk.
bench: $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_alternatives.py
	$(BIN)/python benchmarks/bench_overhead.py
	$(BIN)/python benchmarks/bench_scaling.py
	$(BIN)/python benchmarks/bench_sweep.py
	$(BIN)/python benchmarks/bench_devices.py
	$(BIN)/python benchmarks/bench_marina_p_step.py
	$(BIN)/python benchmarks/report.py

clean:
	rm -rf $(VENV) results .pytest_cache .ruff_cache
