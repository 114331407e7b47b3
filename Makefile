# Two entry points for a fresh machine (Python 3.11, no GPU): `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHARED_DATA := $(abspath ../shared/data)
ifneq ($(wildcard $(SHARED_DATA)),)
export SONGREC_DATA ?= $(SHARED_DATA)
endif

.PHONY: install run test lint bench clean

$(BIN)/songrec: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/songrec

## The main job: build the catalogue, train, index, print suggestions (and serve if DISCORD_TOKEN is set).
run: install
	$(BIN)/songrec demo

## Lint and the whole test suite.
test: install
	$(BIN)/ruff check .
	$(BIN)/pytest -q

## Benchmarks (not part of the tests): figures as side-by-side ratios.
bench: install
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/python bench/train_cae.py
	$(BIN)/python bench/index.py
	$(BIN)/python bench/quality.py
	OPENBLAS_NUM_THREADS=1 $(BIN)/python bench/cf.py
	$(BIN)/python bench/classifier.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
