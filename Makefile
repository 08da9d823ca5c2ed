# Two commands for a newcomer: `make lab` and `make test`. Both create .venv when missing and only reinstall
# when pyproject.toml changed (the .installed-* stamps), so re-running them is fast.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: lab test site test-widgets7 test-colab clean-venv

# Before any venv is made: is $(PYTHON) new enough for pyproject.toml's requires-python? Without this check, pip on a
# too-old Python backtracks through many large torch wheels before it gives up; with it, one line says what to do.
CHECK_PYTHON = $(PYTHON) -c 'import re, sys; need = tuple(int(v) for v in re.search(r"requires-python = \">=(\d+)\.(\d+)", open("pyproject.toml").read()).groups()); sys.exit(0 if sys.version_info[:2] >= need else "resnext-edu needs Python >= %d.%d, but $(PYTHON) is Python %s. Install a newer one and name it: make PYTHON=python3.12 ..." % (need + (sys.version.split()[0],)))'

$(PY):
	@$(CHECK_PYTHON)
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-%: pyproject.toml | $(PY)
	$(PY) -m pip install -e ".[$*]"
	touch $@

## make lab: install the package with its notebook extras and start JupyterLab on notebooks/ (localhost, with a token)
lab: $(VENV)/.installed-notebook
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1

## make test: install the package with its test extras, check the code with ruff (lint, then layout: seconds, and it
## stops at the first that fails), then run the whole test suite.
## OMP_WAIT_POLICY=PASSIVE: OpenMP threads sleep instead of spinning while they wait, so the kernels, JupyterLab and
## the torchrun workers that the tests start beside pytest do not slow one another down on a 2-core machine.
LINTED := resnext_edu tests benchmarks site hubconf.py

test: $(VENV)/.installed-test
	@$(PY) -m ruff check $(LINTED) || { echo "make test: ruff check failed (above); many fixes: $(PY) -m ruff check --fix $(LINTED)"; exit 1; }
	@$(PY) -m ruff format --check $(LINTED) || { echo "make test: code not laid out by the formatter; run: $(PY) -m ruff format $(LINTED)"; exit 1; }
	OMP_WAIT_POLICY=PASSIVE $(PY) -m pytest

## make site: build the course as a website into site/_build/html, every lesson executed on real CIFAR-10 (default
## mode; RESNEXT_EDU_QUICK=1 make site: quick mode, as CI builds it). A rebuild executes only the lessons that changed.
## The Chinese edition is built into site/_build/zh/html, then copied into site/_build/html/zh: MyST-NB writes the
## images again into jupyter_execute/ beside the folder it builds, which must stay outside the published tree.
site: $(VENV)/.installed-site
	OMP_WAIT_POLICY=PASSIVE $(PY) site/build.py
	OMP_WAIT_POLICY=PASSIVE $(PY) site/build.py --language zh_CN --notebooks notebooks/zh --out site/_build/zh/html \
		--copy-into site/_build/html/zh

clean-venv:
	rm -rf $(VENV)

## make test-widgets7: the widget tests and the lesson runs (headless, no browser) against ipywidgets 7.7, the line
## Colab runs, in a separate environment .venv-ipw7, so that nothing silently needs ipywidgets 8
VENV7      ?= .venv-ipw7
PY7        := $(VENV7)/bin/python
# the tests of the widgets (every test file that mentions them, less the browser test) and the lesson runs
IPW7_TESTS := $(filter-out tests/test_browser.py,$(shell grep -l widgets tests/test_*.py)) $(wildcard tests/test_notebooks.py)

$(PY7):
	@$(CHECK_PYTHON)
	$(PYTHON) -m venv $(VENV7)

$(VENV7)/.installed-ipw7: pyproject.toml Makefile | $(PY7)
	$(PY7) -m pip install -e . "ipywidgets>=7.7,<7.8" pytest pytest-timeout nbclient nbformat ipykernel
	touch $@

test-widgets7: $(VENV7)/.installed-ipw7
	$(PY7) -c "import ipywidgets as w; assert w.__version__.startswith('7.7.'), w.__version__; print('ipywidgets', w.__version__)"
	@if [ -z "$(strip $(IPW7_TESTS))" ]; then echo "test-widgets7: no widget tests or lesson runs found in tests/"; exit 1; fi
	OMP_WAIT_POLICY=PASSIVE $(PY7) -m pytest -m "not browser" $(IPW7_TESTS)

## make test-colab: a lesson run as on Google Colab (tests/test_colab_simulation.py). .venv-colab holds what a Colab
## runtime has before a lesson starts (torch, ipywidgets 7.7, the classic notebook 6.5, no JupyterLab, not this
## package); a fake google.colab makes the lesson's setup cell install the package, non-editable, from this checkout.
VENVC      ?= .venv-colab
PYC        := $(VENVC)/bin/python

$(PYC):
	@$(CHECK_PYTHON)
	$(PYTHON) -m venv $(VENVC)

$(VENVC)/.installed-colab: Makefile | $(PYC)
	$(PYC) -m pip install torch torchvision numpy matplotlib tqdm pillow "ipywidgets>=7.7,<7.8" "notebook>=6.5,<7" \
		ipykernel nbclient nbformat pytest
	touch $@

test-colab: $(VENVC)/.installed-colab
	RESNEXT_EDU_COLAB_SIMULATION=1 OMP_WAIT_POLICY=PASSIVE $(PYC) -m pytest -p no:cacheprovider tests/test_colab_simulation.py
