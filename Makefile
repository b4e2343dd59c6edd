# Everything a fresh machine needs: `make demo` and `make test` create .venv, install
# PyTorch (the pinned CPU wheel where none is present), the package and its dev extras.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TORCH_VERSION ?= 2.13.0

.PHONY: install demo test test-all lint format-check typecheck check bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet torch==$(TORCH_VERSION)
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m stylegan.demo --outdir out/demo

# The test suite, after the lint, format and type checks (CI runs this target).
test: $(STAMP) lint format-check typecheck
	$(PY) -m pytest -q

test-all: $(STAMP)
	$(PY) -m pytest -q -m ""

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks scripts

format-check: $(STAMP)
	$(VENV)/bin/ruff format --check src tests benchmarks scripts

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# Every static check, and the test that the package has no import cycle (seconds, no suite run).
check: lint typecheck format-check
	$(PY) -m pytest -q tests/test_import_cycles.py

bench: $(STAMP)
	$(PY) benchmarks/inference.py

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache .mypy_cache
