# Two commands for users: `make run` and `make test`. Needs only python3 (3.11+) and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test migrate bench bench-quick

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The project itself is installed editable after its pinned requirements, so `import sessions_app` works
# from scripts in any folder (the Python API); both `run` and `test` go through here. The compat mode puts
# the project folder on the path, so an app added later needs no reinstall.
$(VENV)/.installed: requirements.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --config-settings editable_mode=compat -e .
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

migrate: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput

# One process: its event loop carries the /v1/ proxy's streams, its threads (NOVAFORGE_THREADS) the
# pages and API, and with SQLite writers queue inside it instead of colliding (see novaforge/asgi.py).
# Plain HTTP on loopback, so cookies are not marked Secure here.
run: migrate
	$(BIN)/python manage.py ensure_admin
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	SECURE_COOKIES=0 $(BIN)/gunicorn novaforge.asgi --worker-class uvicorn_worker.UvicornWorker \
		--bind $(HOST):$(PORT) --workers 1 --access-logfile -

test: $(VENV)/.dev-installed
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest

# Benchmarks against the bare driver and LangChain (installed only here, from bench/requirements.txt):
# writes BENCH_OUTPUT. Knobs: BENCH_MESSAGES, BENCH_SESSIONS, BENCH_ROUNDS (see README).
BENCH_OUTPUT ?= docs/benchmarks.md
$(VENV)/.bench-installed: bench/requirements.txt $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	touch $@

bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench --output $(BENCH_OUTPUT)

bench-quick: $(VENV)/.installed
	$(BIN)/python -m bench --quick
