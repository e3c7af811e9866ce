# Two commands do all set-up: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# `make test` runs on real PostgreSQL and Redis (see README); override these to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/crm
TEST_REDIS_URL ?= redis://127.0.0.1:6379

.PHONY: run test lint bench install dev-install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Re-install only when the dependencies change.
$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Without DATABASE_URL the settings start the embedded PostgreSQL (crm/embedded_db.py, data in var/pgdata) on
# first use. On Ctrl-C (or when anything here fails) the trap stops every process this recipe started: the web
# server and the worker with their children (kill 0: this process group), then the embedded database.
run: install
	@trap 'trap "" INT TERM; trap - EXIT; [ -z "$$(jobs -p)" ] || kill -TERM 0; wait; \
	       $(BIN)/python -m crm.embedded_db stop' INT TERM EXIT; \
	set -e; \
	$(BIN)/python manage.py migrate --noinput; \
	$(BIN)/python manage.py seed_demo; \
	$(BIN)/python manage.py recalculate_scores --if-unscored; \
	echo ""; \
	echo "  Mini CRM is starting on http://127.0.0.1:$(PORT)/"; \
	echo "  Demo logins (password: demo): admin · manager, manager2 · rep, rep2 … rep8"; \
	echo "  Ctrl-C stops the web server, the Celery worker with beat and the embedded database."; \
	echo ""; \
	$(BIN)/celery -A crm worker --beat --loglevel=info --concurrency=2 \
	    --schedule-filename=var/celerybeat-schedule & \
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT) & \
	wait

# The checks name the test database, so they never start the embedded one (and leave it running).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python manage.py makemigrations --check --dry-run
	DATABASE_URL=$(TEST_DATABASE_URL) DEBUG=False SECRET_KEY=check-deploy-only-not-a-real-secret-0123456789-abcdefghijklmnopqrstuvwxyz ALLOWED_HOSTS=crm.example.com \
	    $(BIN)/python manage.py check --deploy --fail-level WARNING

test: lint
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_REDIS_URL)/0 CACHE_URL=$(TEST_REDIS_URL)/1 \
	    $(BIN)/pytest

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
