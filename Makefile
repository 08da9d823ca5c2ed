# Two commands for a newcomer: `make lab` and `make test`. Both create .venv when missing and only reinstall
# when pyproject.toml changed (the .installed-* stamps), so re-running them is fast.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: lab test test-widgets7 clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-%: pyproject.toml | $(PY)
	$(PY) -m pip install -e ".[$*]"
	touch $@

## make lab: install the package with its notebook extras and start JupyterLab on notebooks/ (localhost, with a token)
lab: $(VENV)/.installed-notebook
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1

## make test: install the package with its test extras and run the whole test suite
test: $(VENV)/.installed-test
	$(PY) -m pytest

clean-venv:
	rm -rf $(VENV)
