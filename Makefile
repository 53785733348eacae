# mtlx — set-up, demo and tests on a fresh clone. Everything lives in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

# The demo: the real MultiMNIST experiment, made small enough for a 2-core CPU in minutes.
DEMO_DATA := --set dataset.train_pairs=8000 --set dataset.val_pairs=2500 --set dataset.test_pairs=2500 --epochs 3
DEMO_GRID := --lrs demo --seeds 3

.PHONY: venv demo test lint format bench example-db clean

venv: $(INSTALLED)

$(INSTALLED): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/mtlx stl-baseline multimnist $(DEMO_DATA) $(DEMO_GRID)
	$(BIN)/mtlx sweep multimnist $(DEMO_DATA) $(DEMO_GRID) --methods ew,uw --optimizers adam,sgd
	$(BIN)/mtlx pareto --dataset multimnist
	$(BIN)/mtlx report --dataset multimnist

test: $(INSTALLED)
	$(BIN)/python -m pytest -q

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(INSTALLED)
	$(BIN)/python -m pytest benchmarks --benchmark-only -o addopts="" -q

# Regenerates the committed example database from a real sweep (the demo's, into another file);
# it keeps no weights (--keep none), so it points at no checkpoint file.
EXAMPLE := --db results.sqlite.example --keep none --checkpoints example.checkpoints
example-db: $(INSTALLED)
	rm -f results.sqlite.example
	$(BIN)/mtlx stl-baseline multimnist $(DEMO_DATA) $(DEMO_GRID) $(EXAMPLE)
	$(BIN)/mtlx sweep multimnist $(DEMO_DATA) $(DEMO_GRID) --methods ew,uw --optimizers adam,sgd \
		$(EXAMPLE)
	rm -rf example.checkpoints
	$(BIN)/python -c "import sqlite3; c = sqlite3.connect('results.sqlite.example'); \
		c.execute('PRAGMA wal_checkpoint(TRUNCATE)'); c.execute('PRAGMA journal_mode=DELETE'); c.close()"

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache
