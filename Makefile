# Regional AX hub — the commands people run often. `make help` lists them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HUB_DATA_DIR ?= $(CURDIR)/data
TRACE ?= ../shared/traces/openb_dev.csv
# the half of the same segment that follows TRACE (scheduler/bench/traces/README.md): tune on
# TRACE, check on this
HELDOUT_TRACE := scheduler/bench/traces/openb_heldout.csv
# the trace README's cluster (21 GPUs), a larger (37) and a smaller one (17): decision 0002
CLUSTER_README := 1x8:G2,1x4:G2,1x4:T4,1x2:P100,1x1:V100M16,1x1:V100M32,1x1:G3
CLUSTER_LARGER := 2x8:G2,2x4:G2,2x4:T4,1x2:P100,1x1:V100M16,1x1:V100M32,1x1:G3
CLUSTER_SMALLER := 1x8:G2,1x4:T4,1x2:P100,1x1:V100M16,1x1:V100M32,1x1:G3
SET ?=
# the container image `make image` builds and `make image-check` checks
IMAGE ?= axhub:dev
DOCKER_BUILD_ARGS ?=
# the mypyc build of scheduler/core, in a copy of the tree (never in place: ops/compile-core.sh)
COMPILED := .build/compiled-core

.PHONY: help install up api db seed test test-fast lint format typecheck bench bench-suite bench-heldout bench-compare bench-compiled compiled-core image image-check clean helm browser

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet -r requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps -e .
	$(BIN)/python -m pip install --quiet "torch==2.13.0" 2>&1 | grep -v "is ignored" || true
	$(BIN)/python -c "import torch" || { echo "PyTorch did not install" >&2; exit 1; }
	@touch $(STAMP)

install: $(STAMP) ## Create .venv with the locked dependencies

db: install ## Apply database migrations
	$(BIN)/axhub db upgrade

seed: db ## Load demo companies and users (idempotent)
	$(BIN)/axhub seed-demo

up: seed ## Install everything and run the local hub (Ray with simulated GPUs, API, scheduler) with demo data
	$(BIN)/axhub dev up

test: install helm browser ## Run the whole test suite (SQLite and PostgreSQL at 127.0.0.1:5432), two workers
	$(BIN)/pytest -n 2 --dist loadgroup

test-fast: install ## Tests without the slow and PostgreSQL ones
	$(BIN)/pytest -m "not slow and not postgres"

lint: install ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install ## Apply ruff's formatting and safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

helm: ## Put a helm binary into .tools/bin (for tests/helm; via ../shared/tools/get-helm)
	@if [ -x .tools/bin/helm ]; then :; \
	elif [ -f ../shared/tools/get-helm ]; then \
		bash ../shared/tools/get-helm .tools/bin || echo "helm could not be fetched: tests/helm will be skipped" >&2; \
	else echo "../shared/tools/get-helm not found: tests/helm will be skipped" >&2; fi

browser: ## Debian's Chromium, its driver and a Korean font, for the portal's end-to-end test
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif command -v apt-get >/dev/null; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		PKGS="chromium chromium-driver fonts-noto-cjk"; \
		{ $$SUDO apt-get install -y -qq $$PKGS >/dev/null 2>&1 \
		  || { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$PKGS >/dev/null; }; } \
		|| echo "Chromium could not be installed: the portal's browser test will be skipped" >&2; \
	else echo "no apt-get: the portal's browser test will be skipped" >&2; fi

bench: install ## Scheduler benchmark: every policy on TRACE, README cluster (bench-results/)
	@mkdir -p bench-results
	$(BIN)/python -m scheduler.bench --trace $(TRACE) --cluster $(CLUSTER_README) --json bench-results/out.json

SUITE_GRID = --cluster $(CLUSTER_README) --cluster $(CLUSTER_LARGER) --cluster $(CLUSTER_SMALLER) \
	--perturb-seeds 0,1,2,3 $(foreach pair,$(SET),--set $(pair))

bench-suite: install ## Default vs las vs fifo on 3 clusters x 4 traces (SET="field=value ..." to try a knob)
	@mkdir -p bench-results
	$(BIN)/python -m scheduler.bench suite --trace $(TRACE) $(SUITE_GRID) --json bench-results/suite.json

bench-heldout: install ## The same grid on the held-out half of the trace (SET= as above)
	@mkdir -p bench-results
	$(BIN)/python -m scheduler.bench suite --trace $(HELDOUT_TRACE) $(SUITE_GRID) \
		--json bench-results/suite-heldout.json

compiled-core: install ## Build scheduler/core with mypyc (as the image does) in a copy: .build/compiled-core
	rm -rf $(COMPILED) && mkdir -p $(COMPILED)
	git ls-files -z --cached --others --exclude-standard \
		| tar --null -T - --ignore-failed-read -cf - | tar -xf - -C $(COMPILED)
	PYTHON=$(CURDIR)/$(BIN)/python ops/compile-core.sh $(COMPILED)

bench-compare: install ## Paired comparison of two suite runs (BASE=old.json NEW=new.json)
	$(BIN)/python -m scheduler.bench compare $(BASE) $(NEW)

bench-compiled: install ## Pass time at 10k x 1k of the sources and of the image's compiled core
	@mkdir -p bench-results
	$(BIN)/python -m scheduler.bench scale --compiled --json bench-results/scale.json

image: ## Build the hub's container image (Dockerfile; IMAGE=, DOCKER_BUILD_ARGS= to change)
	docker build $(DOCKER_BUILD_ARGS) -t $(IMAGE) .

image-check: install ## Check a built image against this checkout (ops/check-image.sh)
	PYTHON=$(BIN)/python ops/check-image.sh $(IMAGE)

lock: ## Re-resolve requirements.lock from pyproject.toml
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra bench --python-version 3.11 -o requirements.lock

clean: ## Remove the virtual environment, caches and local data
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache data .build
