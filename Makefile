# `make demo` and `make test` are the two set-up commands: each installs into .venv if needed.
VENV ?= .venv
PYTHON ?= python3
PIP := $(VENV)/bin/pip
# torch==2.13.0+cpu comes from the local wheel folder where pip is configured with one, else from
# PyTorch's CPU index. The probe is offline (--no-index), so a dead index is never waited on.
TORCH_PIN := torch==2.13.0+cpu
TORCH_INDEX = $$($(PIP) install --dry-run --no-deps --no-index -q "$(TORCH_PIN)" >/dev/null 2>&1 \
	|| echo --extra-index-url https://download.pytorch.org/whl/cpu)
# pip drags in CUDA builds of these; beside CPU torch they break transformers' model imports.
CUDA_ONLY := torchvision torchaudio torchcodec

.PHONY: install install-test demo test docs lint clean

install: $(VENV)/.installed-cpu

install-test: $(VENV)/.installed-test

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# --no-compile: pip would byte-compile all ~36k installed modules one after another (~1.5 min on
# 2 cores); Python compiles the few thousand a run imports as it first imports them.
$(VENV)/.installed-cpu: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --no-compile $(TORCH_INDEX) -e ".[cpu]"
	$(PIP) uninstall -y -q $(CUDA_ONLY) 2>/dev/null || true
	touch $@

# One resolve for both sets: installing the extras after `install` would first put back the
# CUDA-only packages that step removed.
$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(PIP) install --no-compile $(TORCH_INDEX) -e ".[cpu,test,postgres]"
	$(PIP) uninstall -y -q $(CUDA_ONLY) 2>/dev/null || true
	touch $(VENV)/.installed-cpu $@

demo: install
	$(VENV)/bin/goldilocks run

# The documentation site, built strictly: a broken link or a page missing from the nav fails.
docs: install-test
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet
	@echo "docs built: open site/index.html"

lint: install-test
	$(VENV)/bin/ruff check .

test: install-test
	$(VENV)/bin/ruff check .
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet
	$(VENV)/bin/pytest -q -ra --durations=30

clean:
	rm -rf $(VENV) runs mlflow.db mlartifacts .pytest_cache site
