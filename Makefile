# Two commands for users: `make run` (the default lunar traverse) and `make test` (everything).
# Both create the virtual environment on first use; nothing outside .venv is touched, except by the
# tier-1 job (`make tier1`, part of `make test`): .venv-noble and a temporary colcon workspace.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_ARGS ?=

.PHONY: setup run test tier1 lint typecheck bench clean load-repeat

setup: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	touch $(VENV)/COLCON_IGNORE
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

run: $(STAMP)
	$(BIN)/rover run $(RUN_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

# mypy over rover_nav/runtime and the pure cores ([tool.mypy] files in pyproject.toml)
typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -n 2 --dist loadgroup --durations=25
	$(MAKE) tier1

# Tier-1 conformance: real colcon build/test/test-result in a venv pinned to Ubuntu 24.04's versions,
# on a clean copy of the repository, and rosdep against the offline Jazzy snapshot (tools/tier1_check.sh).
tier1:
	PYTHON=$(PYTHON) tools/tier1_check.sh

# Flake check: LOAD_TESTS (or the command LOAD_CMD, e.g. LOAD_CMD='make test') LOAD_RUNS times beside
# LOAD_BUSY busy loops, nice'd (tools/load_repeat.sh).
LOAD_RUNS ?= 3
LOAD_BUSY ?= 2
LOAD_TESTS ?= test/e2e test/safety test/drive test/tracklog -m "ros or e2e"
LOAD_CMD ?=
load-repeat: $(STAMP)
ifeq ($(strip $(LOAD_CMD)),)
	nice -n 10 tools/load_repeat.sh -n $(LOAD_RUNS) -k $(LOAD_BUSY) -- $(LOAD_TESTS)
else
	nice -n 10 tools/load_repeat.sh -n $(LOAD_RUNS) -k $(LOAD_BUSY) -c '$(LOAD_CMD)'
endif

bench: $(STAMP)
	$(BIN)/rover bench

clean:
	rm -rf $(VENV) .venv-noble build install log *.egg-info .pytest_cache .ruff_cache .mypy_cache
