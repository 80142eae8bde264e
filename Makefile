# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: setup demo test typecheck chromium postgres bench-core bench-locomo

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints-cpu.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev,agent-framework,postgres]" -c constraints-cpu.txt
	touch $@

demo: setup
	$(VENV)/bin/omne demo

test: setup chromium postgres
	$(PY) -m pytest -q

# mypy, strict on omne/ (configured in pyproject.toml); CI runs it before the tests.
typecheck: setup
	$(PY) -m mypy

# The inspector's browser tests drive Debian's chromium (Playwright never downloads a browser here).
chromium:
	@test -x /usr/bin/chromium || { echo "installing chromium (apt-get) for the browser tests"; \
	  SUDO=$$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo); \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The PostgreSQL record store's tests start a throwaway cluster (initdb + pg_ctl in a temp dir) from Debian's packages.
postgres:
	@{ command -v pg_ctl >/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; } || { \
	  echo "installing postgresql (apt-get) for the PostgreSQL record store tests"; \
	  SUDO=$$(command -v sudo >/dev/null && [ "$$(id -u)" != 0 ] && echo sudo); \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }
