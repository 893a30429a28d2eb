# `make run` and `make test` work on a fresh machine with only Python 3.11 and pip.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
FLASK = $(BIN)/flask --app wsgi

.PHONY: install run test test-postgres fuzz docs-check screenshots bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test,postgres]'
	touch $@

install: $(VENV)/.installed

# With nginx installed (Debian: apt-get install nginx), gunicorn.conf.py starts it in front on
# POS_BIND; POS_FRONT=nginx requires it, POS_FRONT=none runs gunicorn alone.
run: install
	$(FLASK) init-db
	$(BIN)/gunicorn -c gunicorn.conf.py

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

# The whole suite again against a throwaway PostgreSQL on 127.0.0.1 (installed from Debian if missing).
test-postgres: $(VENV)/.installed-test
	POS_TEST_DATABASE_URL="$$(bash .ci/postgres)" $(BIN)/python -m pytest

# Schemathesis against a live gunicorn; FUZZ_SEED=N replays a run.
fuzz: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m fuzz tests/test_fuzz.py

# /docs in headless Chromium (Debian: apt-get install chromium), fetching nothing from outside.
docs-check: $(VENV)/.installed-test
	REQUIRE_CHROMIUM=1 $(BIN)/python -m pytest tests/test_docs_page.py

# The browser tests again, their screenshots into docs/screenshots (a plain run keeps them in
# a scratch folder, so the checkout stays as it was).
screenshots: $(VENV)/.installed-test
	POS_SCREENSHOTS="$(CURDIR)/docs/screenshots" REQUIRE_CHROMIUM=1 $(BIN)/python -m pytest tests/*browser*.py

lint: $(VENV)/.installed-test
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench

# Load test of the production gunicorn (and nginx) with wrk (Debian's package), against a bare
# Flask no-op under the same settings; writes its table into docs/bench.md. Then what the
# journal costs (a write's append, verify over 1,000,000 entries), into docs/journal.md. Then
# head office's ingest of 1,000 shops and its follow lag (a throwaway PostgreSQL), into docs/chain.md.
bench: $(VENV)/.installed-test
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	PATH="$$PATH:/usr/sbin" command -v nginx >/dev/null || apt-get install -y -qq nginx
	$(BIN)/python bench/run.py
	$(BIN)/python bench/bench_journal.py
	$(BIN)/python bench/bench_headoffice.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
