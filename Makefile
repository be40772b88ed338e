# Two entry points for a fresh machine (see README Quickstart):
#   make run   - set up .venv and run the main job on the embedded default
#   make test  - set up .venv and run the test suite
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

$(VENV)/.installed: setup.py pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

.PHONY: run test lint bench
run: $(VENV)/.installed
	$(PY) -m mava_ganno.main_job

test: $(VENV)/.installed
	$(PY) -m pytest -q -n 2 --dist loadscope --durations=25 tests  # a module per worker (its fixtures built once); the 25 slowest listed: the suite aims at ~10 min

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check mava_ganno tests benchmarks experiments hydra_plugins

bench: $(VENV)/.installed
	$(PY) benchmarks/env_throughput.py
