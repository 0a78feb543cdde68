# Two entry points: `make demo` runs dwconf on the example configuration, `make test` runs the
# checks CI runs. Both create .venv with Python 3.11 on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: setup
	$(BIN)/dwconf validate
	@echo "make demo starts the local dev environment over: dwconf env reset dev deletes"
	@echo ".dwconf/dev.sqlite with dev's maps, link settings and deployment records."
	$(BIN)/dwconf env reset dev --yes
	$(BIN)/dwconf plan dev
	$(BIN)/dwconf apply dev --auto-approve
	$(BIN)/dwconf plan dev

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/vulture
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q

bench: setup
	bench/run

clean:
	rm -rf $(VENV) .dwconf .pytest_cache .mypy_cache .ruff_cache
