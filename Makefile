# Beacon: `make run` starts everything locally, `make test` runs the test suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test install lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# The benchmarks' own tools (pyinstrument for benchmarks/profile_*.py), on top of test's.
$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

bench: $(VENV)/.installed-bench

# Browser libraries Beacon serves itself (uPlot), pinned in package-lock.json and
# fetched from the npm registry by a Python script (no Node.js needed; `npm ci` works too).
node_modules/.installed: package.json package-lock.json | $(BIN)/python
	$(BIN)/python scripts/install_js.py
	touch $@

install: $(VENV)/.installed node_modules/.installed

# `make run` is a local demo: BEACON_LOCAL=true turns DEBUG on (and deliveries to
# loopback receivers) unless DEBUG is set in the environment or .env.
run: export BEACON_LOCAL = true
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py serve

lint: install
	$(BIN)/ruff check .

test: install lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) data node_modules

# One table of ratios against a baseline measured in the same run (notes on stderr).
bench: install
	@echo "| what | Beacon | same-run baseline | ratio |"
	@echo "|---|---|---|---|"
	-@$(BIN)/python benchmarks/matching.py
	-@$(BIN)/python benchmarks/mlflow_ingest.py
	-@$(BIN)/python benchmarks/wandb_filestream.py
	-@$(BIN)/python benchmarks/pages.py
	-@$(BIN)/python benchmarks/delivery.py embedded
	-@$(BIN)/python benchmarks/delivery.py postgres
	-@$(BIN)/python benchmarks/ingest.py embedded
	-@$(BIN)/python benchmarks/ingest.py postgres
