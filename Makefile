# Two commands matter: `make demo` and `make test`. Each creates or refreshes .venv by itself.
# The first Python 3.11+ on PATH (Prefect 3.9 needs 3.11); override with `make PYTHON=...`.
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
  $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test lint typecheck unit browser lock emulator clean bench chaos

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "prefect-zoom needs Python 3.11+ (Prefect 3.9 does): install one, or run make PYTHON=/path/to/python3.11"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

## demo: start the local Zoom emulator and run the main job against it
demo: $(STAMP)
	$(BIN)/python -m prefect_zoom.demo

## test: lint, type check, then the whole test suite (installs headless Chromium if missing)
test: lint typecheck browser unit

lint: $(STAMP)
	$(BIN)/ruff check prefect_zoom zoom_emulator tests benchmarks
	$(BIN)/ruff format --check prefect_zoom zoom_emulator tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest

## bench: every benchmark, each figure a ratio against a baseline of the same run; writes benchmarks/RESULTS.md
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

## chaos: the reliability suite in its long form (the short form runs in `make test`), then the team
## scenario (PostgreSQL-backed Prefect, three process workers, then a partitioned whole-account archive; installs Debian's postgresql if missing)
chaos: $(STAMP)
	ZOOM_CHAOS=full $(BIN)/python -m pytest tests/chaos
	$(BIN)/python benchmarks/team_scenario.py

## browser: Debian's Chromium for the sign-in test (Playwright drives it; no browser download)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

## emulator: run the local Zoom emulator in the foreground
emulator: $(STAMP)
	$(BIN)/zoom-emulator

## lock: re-pin every dependency after changing pyproject.toml
lock:
	rm -rf /tmp/prefect-zoom-lock && $(PYTHON) -m venv /tmp/prefect-zoom-lock
	/tmp/prefect-zoom-lock/bin/python -m pip install --quiet --upgrade pip
	/tmp/prefect-zoom-lock/bin/python -m pip install --quiet -e ".[dev]"
	/tmp/prefect-zoom-lock/bin/python -m pip freeze --exclude-editable | grep -v '^-e ' > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache zoom-archive
