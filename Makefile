# The README's commands (make test, make sweep; make train). All create .venv and install the pinned stack
# (scripts/install_stack.sh, idempotent) before doing their job.
SHELL := /bin/bash
VENV  ?= .venv
PY    := $(VENV)/bin/python

.PHONY: install test lint train sweep
install:
	@bash scripts/install_stack.sh

## make test: lint, then the whole test suite (CI runs exactly this).
test: install lint
	$(PY) -m pytest -q $(PYTEST_ARGS)

## make lint: ruff's lint rules and formatting (one style, double quotes), then mypy, over the packages
## (settings in pyproject.toml). `ruff format platform detectors` fixes the formatting.
LINTED := platform detectors
lint: install
	$(PY) -m ruff check $(LINTED)
	$(PY) -m ruff format --check $(LINTED)
	$(PY) -m mypy

## make sweep: the smoke sweep (embedded Ray, Optuna TPE + ASHA, MLflow in ./mlflow.db), ~10 min on 2 CPUs.
sweep: install
	$(PY) experiments/sweep.py --study experiments/studies/cla_hrsc_smoke.yaml --synth-images 96 $(ARGS)

## make train: a short CPU training of the mini Refined-Det config on generated images.
train: install
	$(PY) experiments/train_mini.py $(ARGS)
