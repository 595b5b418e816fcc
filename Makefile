# kabuguard — humans and CI call the same targets.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help run test lint format bench clean

help: ## Show the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("kabuguard needs Python 3.11+") if sys.version_info < (3, 11) else None'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

# The demo's hosted pages: localhost (passkeys need a domain name) and open sign-up.
run: export KABUGUARD_PUBLIC_BASE_URL ?= http://localhost:8000
run: export KABUGUARD_AUTH_OPEN_SIGNUP ?= true
run: $(STAMP) ## Run the service on the embedded SQLite database (./var/), pages on localhost
	$(BIN)/kabuguard serve

test: $(STAMP) ## Run the whole suite (PostgreSQL tests skip unless reachable or required)
	@scripts/ensure-chromium
	$(BIN)/python -m pytest

lint: $(STAMP) ## ruff, ruff format --check, mypy --strict, import contracts
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

bench: $(STAMP) ## Measure replay and HTTP throughput/latency; writes var/bench/latest.json
	$(BIN)/kabuguard bench

clean: ## Remove the virtual environment and local state
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache
