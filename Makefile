# One entry point for what CI runs. `make check` = lint + types + tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)

.PHONY: setup demo lint types test check bench security clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/smgitops demo

lint: setup
	$(BIN)/ruff check functions tests bench scripts
	$(BIN)/ruff format --check functions tests bench scripts

types: setup
	$(BIN)/mypy

test: setup
	$(BIN)/pytest -n 2 -q

security: setup
	$(BIN)/bandit -q -c pyproject.toml -r functions/smgitops

check: lint types security test

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
