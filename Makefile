# The two commands a newcomer needs:
#   make lab    set everything up and start JupyterLab with jupyter-nj on its embedded defaults
#   make test   set up everything the tests need and run the whole suite
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
# uv reads the system trust store through this, so it works behind TLS-inspecting proxies too.
export SSL_CERT_FILE ?= $(wildcard /etc/ssl/certs/ca-certificates.crt)
STAMPS := .stamps

.PHONY: lab test setup setup-test services lint format pytest jstest uitest wheelcheck build clean

lab: setup
	@bash scripts/ensure-services.sh --optional docker
	@# As root, hand the demo folder to the uid container kernels run as (never root), so
	@# notebooks there can write files next to themselves.
	@if [ "$$(id -u)" = 0 ]; then chown 1000:100 demo; fi
	@# The default environment (new notebooks start on it, pinned at their first run) and the
	@# tour's Bash runtime, built on the embedded local backend: seconds once uv's cache is warm.
	jupyter nj --root-dir demo env build python
	jupyter nj --root-dir demo env build bash
	cd demo && jupyter lab --ServerApp.root_dir="$(CURDIR)/demo" $(if $(filter 0,$(shell id -u)),--allow-root,)

test: setup-test lint pytest jstest uitest wheelcheck
	@echo "make test: all suites passed"

# --- set-up ---------------------------------------------------------------------------------

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv

$(STAMPS)/python: $(BIN)/python pyproject.toml labextension/package.json
	mkdir -p $(STAMPS)
	@# --compile-bytecode as pip does: every server, kernel and command of the suite then imports
	@# from .pyc files, also where PYTHONDONTWRITEBYTECODE is set.
	$(BIN)/uv pip install --compile-bytecode --python $(BIN)/python -e ".[test,dev]"
	touch $@

$(STAMPS)/labextension: $(STAMPS)/python $(shell find labextension/src labextension/style labextension/schema -type f 2>/dev/null) labextension/package.json
	cd labextension && npm install --no-audit --no-fund --loglevel=error && npm run build
	jupyter-builder develop --overwrite . > /dev/null
	touch $@

setup: $(STAMPS)/python $(STAMPS)/labextension

$(STAMPS)/ui-tests: ui-tests/package.json
	mkdir -p $(STAMPS)
	cd ui-tests && npm install --no-audit --no-fund --loglevel=error
	touch $@

services:
	bash scripts/ensure-services.sh docker chromium debootstrap r registry

# The proxy of the JupyterHub tests (tests/hub), pinned by deploy/jupyterhub/package-lock.json and
# installed next to the deploy config, where jupyterhub_config.py looks for it first.
$(STAMPS)/hub-proxy: deploy/jupyterhub/package.json deploy/jupyterhub/package-lock.json
	mkdir -p $(STAMPS)
	cd deploy/jupyterhub && npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup-test: setup services $(STAMPS)/ui-tests $(STAMPS)/hub-proxy

# --- checks ---------------------------------------------------------------------------------

lint: setup
	ruff check jupyter_nj tests benchmarks scripts deploy
	ruff format --check jupyter_nj tests benchmarks scripts deploy
	mypy
	cd labextension && npm run --silent lint:check

format: setup
	ruff format jupyter_nj tests benchmarks scripts deploy
	ruff check --fix jupyter_nj tests benchmarks scripts deploy
	cd labextension && npm run --silent lint

pytest: setup services $(STAMPS)/hub-proxy
	pytest

jstest: setup
	cd labextension && npm test -- --ci

uitest: setup-test
	cd ui-tests && npx playwright test
	@# The same lab under a real JupyterHub (its Share dialog naming hub users).
	python scripts/hub-ui-tests.py

wheelcheck: setup
	python scripts/check-wheel.py

build: setup
	$(BIN)/uv build --python $(BIN)/python

clean:
	rm -rf $(STAMPS) $(VENV) labextension/node_modules labextension/lib ui-tests/node_modules \
		deploy/jupyterhub/node_modules \
		jupyter_nj/labextension jupyter_nj/_version.py dist
