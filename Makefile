# The two commands of the README.  Both work on a fresh machine: they create .venv.
#   make lab    install the course, start the embedded cluster, open JupyterLab
#   make test   install the test tools and run the whole suite (CI runs this)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
LAB_ARGS ?=
PYTEST_ARGS ?=

.PHONY: lab test lint cluster-down clean help

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

lab: $(VENV)/.course
	$(BIN)/kubecourse up
	KUBECONFIG="$$($(BIN)/kubecourse kubeconfig)" PATH="$(abspath $(BIN)):$$PATH" \
		$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 $(LAB_ARGS) notebooks/00-setup.ipynb

lint: $(VENV)/.test
	$(BIN)/ruff check kubecourse tests benchmarks

test: $(VENV)/.test lint
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest tests notebooks solutions \
		--nbval-lax --nbval-current-env --nbval-cell-timeout=300 $(PYTEST_ARGS)

cluster-down:
	-$(BIN)/kubecourse down

clean: cluster-down
	rm -rf $(VENV) .pytest_cache
