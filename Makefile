# close2cash — every dependency is installed from here (pyproject.toml, package.json); nothing by hand.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1

.PHONY: install demo test bench synth lint format up clean browser

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed

# Headless Chromium for the run report's test (tests/flows/test_report.py): Debian's package, once.
# Quick when it is there; apt needs root (this machine and CI run as root; elsewhere, sudo).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium > /dev/null || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium > /dev/null; }

# make demo LANDSCAPE=infra/landscapes/coexistence.toml: QuickBooks and NetSuite, and US01's cutover.
demo: install
	$(BIN)/close2cash demo $(if $(LANDSCAPE),--landscape $(LANDSCAPE))

up: install
	$(BIN)/close2cash local up

test: install node_modules/.installed browser
	$(PY) -m pytest -q -p no:cacheprovider

bench: install
	$(PY) -m tests.benchmarks

synth: install node_modules/.installed
	$(PY) -m infra.cdk.app
	npx --no-install cdk synth --quiet

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared functions infra
	$(BIN)/lint-imports
	$(PY) -m shared.domain.schemas --check
	$(BIN)/close2cash config check infra/landscapes/demo.toml > /dev/null

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) node_modules cdk.out .mypy_cache .ruff_cache
