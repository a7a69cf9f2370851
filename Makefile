VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: serve test lint bench clean screenshots

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[dev]'
	touch $@

serve: $(VENV)/.installed
	$(VENV)/bin/agentrun serve --host $(HOST) --port $(PORT)

# Every test, on PYTEST_JOBS xdist workers (0: in this process); one file per worker at a time, each
# of the two groups of heavy timing-sensitive files on one worker (ADR 0041). Three workers keep two
# cores busy while a worker waits on a server or the database. PYTEST_ARGS adds pytest options.
PYTEST_JOBS ?= 3
test: lint /usr/bin/chromium
	$(PY) -m pytest -q -n $(PYTEST_JOBS) --dist loadgroup $(PYTEST_ARGS)

# The console's browser tests drive Debian's chromium; playwright never downloads a browser here.
/usr/bin/chromium:
	@if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	else echo "the browser tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 1; fi

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy domain projections application infrastructure interfaces

# The write path's headline figures (docs/benchmarks.md has every benchmark and its command).
bench: $(VENV)/.installed
	$(PY) -m benchmarks.append --writers 32 --seconds 10 --rounds 3
	$(PY) -m benchmarks.append_http --seconds 10 --rounds 3
	$(PY) -m benchmarks.inference --workers 4 --callers 8 --seconds 10 --rounds 3

# Console screenshots into docs/console/ (needs /usr/bin/chromium: apt-get install chromium).
screenshots: $(VENV)/.installed
	$(PY) -m tests.support.screenshots

clean:
	rm -rf $(VENV) var .pytest_cache
