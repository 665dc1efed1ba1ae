# The two set-up commands of the README: `make run` and `make test`. Everything else is a helper for them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SERVICE ?= examples/users
PORT   ?= 3000

.PHONY: run test lint bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "golive needs Python 3.11 or newer; set PYTHON=python3.11"' \
		|| { echo "golive needs Python 3.11+: run 'make PYTHON=/path/to/python3.11 ...'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[aws,cli]'
	@touch $@

# The dashboard's browser tests drive Debian's chromium through Playwright, which never downloads a browser of its own.
$(VENV)/.dev-installed: $(VENV)/.installed pyproject.toml tests/tools/package-lock.json
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/pip install --quiet -e '.[dev]'
	npm ci --prefix tests/tools --no-audit --no-fund --silent
	@touch $@

run: $(VENV)/.installed
	$(BIN)/golive dev $(SERVICE) --port $(PORT)

test: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests examples bench
	$(BIN)/mypy src/golive
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests examples bench
	$(BIN)/mypy src/golive

clean:
	rm -rf $(VENV) build dist src/*.egg-info $(SERVICE)/.golive
