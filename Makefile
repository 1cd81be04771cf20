# The two set-up commands of the README. Each works on a fresh machine with Python 3.11 and
# make: it creates .venv, installs revmachine into it, and runs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo-workspace
DEMO_SIZE ?= medium

.PHONY: demo test lint bench-ingest bench-people-history bench-funnel validate-maven docs-metrics clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

## demo: install and run the demo on the embedded SQLite default
demo: $(VENV)/.installed
	$(BIN)/revmachine --help
	rm -rf $(DEMO_DIR)
	$(BIN)/revmachine demo $(DEMO_DIR) --size $(DEMO_SIZE)

## test: install and run the whole test suite (lint, types, tests)
test: $(VENV)/.installed lint
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests bench validate
	$(BIN)/ruff format --check src tests bench validate
	$(BIN)/mypy

bench-ingest: $(VENV)/.installed
	$(BIN)/python bench/ingest.py

## bench-funnel: the analytics reports on 1M people against DuckDB (needs the bench extra)
bench-funnel: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python bench/funnel.py

## validate-maven: reproduce the known figures of the Maven CRM pipeline in ../shared/data
validate-maven: $(VENV)/.installed
	$(BIN)/python validate/maven_crm.py

## docs-metrics: regenerate docs/metrics.md from analytics/definitions.py
docs-metrics: $(VENV)/.installed
	$(BIN)/python -c "from revmachine.analytics.definitions import markdown; print(markdown(), end='')" > docs/metrics.md

bench-people-history: $(VENV)/.installed
	$(BIN)/python bench/people_history.py

clean:
	rm -rf $(VENV) demo-workspace .pytest_cache .mypy_cache .ruff_cache
