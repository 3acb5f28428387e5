# The two set-up commands: `make demo` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export TAGTRAIL_HOME ?= $(CURDIR)/.tagtrail
export DAGSTER_HOME ?= $(TAGTRAIL_HOME)/dagster

.PHONY: demo demo-team run serve assets test ui bench lint typecheck check-defs clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "tagtrail needs Python 3.11 or newer (set PYTHON=python3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]" --config-settings editable_mode=compat
	touch $(STAMP)

# make exits 2 whenever a command fails; the tagtrail command's own code (1 halted, 2 a mistake
# on your side) is the "Error N" make prints, and what .venv/bin/tagtrail returns when called directly.
demo: $(STAMP)
	$(BIN)/tagtrail demo $(ARGS)

# The demo distributed: Dagster and the lineage store on PostgreSQL, steps on two Celery workers
# over RabbitMQ (started for the run and stopped after); see README "Running tagtrail for a team".
demo-team: $(STAMP)
	$(BIN)/tagtrail demo --team $(ARGS)

run: $(STAMP)
	$(BIN)/tagtrail run $(ARGS)

# The explorer's browser libraries (cytoscape.js and its dagre layout), from the npm registry at the
# versions package-lock.json pins, copied beside the page that loads them.
FRONTEND := lineage/serve/frontend
VENDOR := lineage/serve/static/vendor
ASSETS := $(VENDOR)/.built
$(ASSETS): $(FRONTEND)/package.json $(FRONTEND)/package-lock.json
	command -v npm >/dev/null || { echo "the explorer's libraries need npm (Debian: apt-get install npm)"; exit 1; }
	cd $(FRONTEND) && npm ci --no-audit --no-fund --silent
	mkdir -p $(VENDOR)
	cp $(FRONTEND)/node_modules/cytoscape/dist/cytoscape.min.js $(FRONTEND)/node_modules/dagre/dist/dagre.min.js $(FRONTEND)/node_modules/cytoscape-dagre/cytoscape-dagre.js $(VENDOR)/
	touch $@

assets: $(ASSETS)

# The governance explorer and OpenLineage endpoint over the home's lineage store (after `make demo`).
serve: $(STAMP) $(ASSETS)
	$(BIN)/tagtrail serve $(ARGS)

test: $(STAMP) $(ASSETS)
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

# The home is prepared (and recovered) first, so `make ui` beside `make demo` never races it.
ui: $(STAMP)
	$(BIN)/tagtrail recover
	umask 077 && $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# Benchmarks print their figures on their last line; run side by side, never as timed tests.
bench: $(STAMP)
	for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

check-defs: $(STAMP)
	$(BIN)/dg check defs

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy --strict benchmarks

clean:
	rm -rf $(VENV) .tagtrail .pytest_cache .mypy_cache .ruff_cache
