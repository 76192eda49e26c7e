# The two commands of the README.  Both work on a fresh machine: they create .venv.
#   make lab    install the course, start the embedded cluster, open JupyterLab
#   make test   install the test tools and run the whole suite (CI runs this)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
LAB_ARGS ?=
PYTEST_ARGS ?=

.PHONY: lab test lint browser-deps cluster-down clean help

help:
	@echo "make lab    - install, start the embedded cluster, open JupyterLab on the course"
	@echo "make test   - install test tools and run unit, API, kubectl and notebook tests"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.course: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[course]'
	@touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.course

# JupyterLab serves the whole course (notebooks/, exercises/, solutions/, shop/) and opens
# lesson 00; as root (containers, Binder-like images) it needs --allow-root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(VENV)/.course
	$(BIN)/kubecourse up
	KUBECONFIG="$$($(BIN)/kubecourse kubeconfig)" PATH="$(abspath $(BIN)):$$PATH" \
		$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir="$(CURDIR)" \
		--LabApp.default_url=/lab/tree/notebooks/00-setup.ipynb $(ROOT_FLAG) $(LAB_ARGS)

lint: $(VENV)/.test
	$(BIN)/ruff check kubecourse tests benchmarks
	$(BIN)/mypy kubecourse

test: $(VENV)/.test lint browser-deps
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest tests notebooks solutions \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=300 $(PYTEST_ARGS)

# Debian's Chromium for tests/browser (Playwright drives it; no browser download).
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
		else echo "browser-deps: /usr/bin/chromium missing and not root: the browser test will be skipped"; fi; \
	fi

cluster-down:
	-$(BIN)/kubecourse down

clean: cluster-down
	rm -rf $(VENV) .pytest_cache
