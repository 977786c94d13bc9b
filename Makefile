# Two commands on a fresh machine: `make run` (the daemon) and `make test` (the test suite).
# Each creates the virtualenv and installs what it needs first.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: run once demo test bench clean

$(BIN)/openwatch: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("openwatch needs Python >= 3.11, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,serve,apprise]'
	touch $@

openwatch.toml: | $(BIN)/openwatch
	$(BIN)/openwatch init

run: $(BIN)/openwatch openwatch.toml
	$(BIN)/openwatch run

once: $(BIN)/openwatch openwatch.toml
	$(BIN)/openwatch run --once

demo: $(BIN)/openwatch
	$(BIN)/openwatch demo

test: $(BIN)/openwatch
	$(BIN)/pytest

bench: $(BIN)/openwatch
	$(BIN)/python bench/crawl_scale.py

clean:
	rm -rf $(VENV) *.egg-info
