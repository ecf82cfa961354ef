# The two commands a newcomer runs: `make demo` and `make test`.
PY    ?= $(shell command -v python3.11 || command -v python3)
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test lint bench clean-state

# uv installs the stack in seconds (pip takes a minute); it is installed into the venv first.
# --compile-bytecode: the libraries' .pyc files are written once here. Without them a process
# compiles every module it imports, each time, where PYTHONDONTWRITEBYTECODE is set (as on the
# machines this project is built on): importing Prefect, dbt and GX then took 18.7 s instead of
# 9.0 (docs/decisions.md).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: install
	DO_NOT_TRACK=1 $(BIN)/plaudit demo

# --maxschedchunk 1: each worker is handed a test at a time, so the slow tests (first, tests/conftest.py)
# are shared out; xdist's default handed the first worker the first 21 tests, every slow one.
test: install
	DO_NOT_TRACK=1 $(BIN)/pytest -n 2 --maxschedchunk 1

# Nights against the floor: SCALE=S (10 thousand responses), M (1 million) or L (10 million).
SCALE ?= S
bench: install
	DO_NOT_TRACK=1 $(BIN)/python bench/run.py --scale $(SCALE)

lint: install
	$(BIN)/ruff check .

# Stop the embedded PostgreSQL and forget all local state (demo data, emails).
clean-state:
	-$(BIN)/plaudit db stop
	rm -rf .plaudit out
