# Two commands do all set-up: `make run` and `make test`. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# `make test` runs on real PostgreSQL and Redis (see README); override these to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/crm
TEST_REDIS_URL ?= redis://127.0.0.1:6379

.PHONY: run stop test lint bench install dev-install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Re-install only when the dependencies change.
$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Without DATABASE_URL and CELERY_BROKER_URL the settings start the embedded PostgreSQL (crm/embedded_db.py, data
# in var/pgdata) and Redis (crm/embedded_broker.py, var/redis.sock) on first use. On Ctrl-C (or when anything here
# fails) the trap stops every process this recipe started: the web server and the worker with their children
# (kill 0: this process group), then the embedded database and broker.
run: install
	@trap 'trap "" INT TERM; trap - EXIT; [ -z "$$(jobs -p)" ] || kill -TERM 0; wait; $(STOP_EMBEDDED)' INT TERM EXIT; \
	set -e; \
	export SITE_URL="$${SITE_URL:-http://127.0.0.1:$(PORT)}"; \
	$(BIN)/python manage.py migrate --noinput; \
	$(BIN)/python manage.py seed_demo; \
	$(BIN)/python manage.py seed_campaigns; \
	$(BIN)/python manage.py recalculate_scores --if-unscored; \
	$(BIN)/python manage.py reports_refresh; \
	echo ""; \
	echo "  Mini CRM is starting on http://127.0.0.1:$(PORT)/"; \
	echo "  Demo logins (password: demo): admin · manager, manager2 · rep, rep2 … rep8"; \
	echo "  Ctrl-C stops the web server, the Celery worker with beat and the embedded database and broker."; \
	echo ""; \
	$(BIN)/celery -A crm worker --beat --loglevel=info --concurrency=2 \
	    --schedule-filename=var/celerybeat-schedule & \
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT) & \
	wait

# Stops the embedded database and broker if they run (a `manage.py` command outside `make run` starts them).
STOP_EMBEDDED := $(BIN)/python -m crm.embedded_broker stop; $(BIN)/python -m crm.embedded_db stop
stop:
	@$(STOP_EMBEDDED)

# The checks name the test server and broker, so they never start the embedded ones (and leave them running). Its
# `postgres` database, which every server has: the test database itself is only created by the test run, and
# makemigrations reads the migration history of the database it is given.
LINT_ENV := DATABASE_URL=$(dir $(TEST_DATABASE_URL))postgres CELERY_BROKER_URL=$(TEST_REDIS_URL)/0
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(LINT_ENV) $(BIN)/python manage.py makemigrations --check --dry-run
	$(LINT_ENV) DEBUG=False SECRET_KEY=check-deploy-only-not-a-real-secret-0123456789-abcdefghijklmnopqrstuvwxyz ALLOWED_HOSTS=crm.example.com \
	    $(BIN)/python manage.py check --deploy --fail-level WARNING

test: lint
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_REDIS_URL)/0 CACHE_URL=$(TEST_REDIS_URL)/1 \
	    $(BIN)/pytest

# The benchmarks name their databases but not a broker: what they queue goes to the embedded Redis, which is
# stopped afterwards unless it ran before (a `make run` beside them).
bench: install
	@broker_before=$$($(BIN)/python -m crm.embedded_broker status); \
	$(BIN)/python -m bench; status=$$?; \
	[ "$$broker_before" = running ] || $(BIN)/python -m crm.embedded_broker stop >/dev/null; \
	exit $$status

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
