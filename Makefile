# One entry point for what CI runs: `make check` = lint + types + security + scanners + tests,
# exactly what .ci/run runs. `make demo` installs only what the demo needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := --quiet --disable-pip-version-check
HASH := $(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
STAMP := $(VENV)/.installed-dev-$(HASH)
RUNTIME_STAMP := $(VENV)/.installed-runtime-$(HASH)
# The template scanners pin dependencies that clash with the app's: each has its own venv
# (the versions are the ones tests/template/test_checkov.py and test_sam_validate.py name).
CHECKOV := .venv-checkov/bin/checkov
SAM := .venv-sam/bin/sam

.PHONY: setup setup-runtime scanners demo lint types test check bench security mutation clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP) -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-dev-*
	touch $(STAMP) $(RUNTIME_STAMP)

# The demo needs the package and the local runtime (moto), not the dev toolchain.
$(RUNTIME_STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install $(PIP) -c constraints.txt -e '.[local]'
	rm -f $(VENV)/.installed-runtime-*
	touch $(RUNTIME_STAMP)

setup: $(STAMP)

setup-runtime: $(RUNTIME_STAMP)

$(CHECKOV):
	$(PYTHON) -m venv .venv-checkov && .venv-checkov/bin/pip install $(PIP) checkov==3.3.30

$(SAM):
	$(PYTHON) -m venv .venv-sam && .venv-sam/bin/pip install $(PIP) aws-sam-cli==1.170.0

scanners: $(CHECKOV) $(SAM)

demo: setup-runtime
	$(BIN)/smgitops demo

lint: setup
	$(BIN)/ruff check functions tests bench scripts
	$(BIN)/ruff format --check functions tests bench scripts
	$(BIN)/lint-imports

types: setup
	$(BIN)/mypy

# Three workers on two cores: the end-to-end tests mostly wait on rollouts' wall clock (the
# load average stays under 2.6 with two workers); --dist loadscope keeps each module's tests on
# one worker, so each e2e module starts one `local up`, not one per worker. A fourth worker did
# not help (2026-12-03, tests/e2e alone on the shared VM at load 6-9: 509 s with -n 4, 449-519 s
# with -n 3): the e2e tests take about 400 s of CPU, a `local up` start alone about 5 s.
test: setup scanners
	$(BIN)/pytest -n 3 --dist loadscope -q --durations=15

security: setup
	$(BIN)/bandit -q -c pyproject.toml -r functions/smgitops

# The three venvs install side by side (they share nothing), then the checks run one by one
# (pytest takes both cores itself).
check:
	$(MAKE) -j3 setup scanners
	$(MAKE) lint types security test

bench: setup
	$(BIN)/python -m bench

# Not part of `check`: mutation scores of the pure core, 2 workers. Measured 2026-12-03 on an
# idle 2-core VM: decide 12.9 min, statistics 2.8, loader 4.5, webhook 2.7: 22.9 minutes in all
# (docs/reliability.md "Mutation testing").
mutation: setup
	nice -n 5 $(BIN)/python scripts/mutation.py

clean:
	rm -rf $(VENV) .venv-checkov .venv-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache mutants
