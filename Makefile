# printdesk: the targets the README names. Everything runs from the project's own .venv,
# which the first target that needs it creates from the pinned requirements.lock.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum < requirements.lock | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run serve test lint format check-migrations backup restore lock bench bench-pages bench-uploads bench-email bench-analysis bench-load screenshots clean venv

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "printdesk needs Python 3.11 or newer; set PYTHON=python3.x")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installing pinned dependencies into $(VENV)..."
	@$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

## run: the portal with demo data on SQLite and local disk, web and worker together (Ctrl-C stops both)
run: export SITE_URL ?= http://$(HOST):$(PORT)
run: venv
	@mkdir -p var
	@$(PY) manage.py migrate --noinput -v0
	@$(PY) manage.py load_demo
	@echo "Serving on http://$(HOST):$(PORT)/ with the background worker. Ctrl-C stops both."
	@trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
		$(PY) manage.py worker & worker=$$!; \
		$(PY) manage.py runserver $(HOST):$(PORT) --noreload --insecure

## serve: the production set-up on this machine: gunicorn (gunicorn.conf.py) and the worker, JSON
## logs, static files hashed and compressed by whitenoise (docs/deploy.md); Ctrl-C stops both
serve: export SITE_URL ?= http://$(HOST):$(PORT)
serve: export GUNICORN_BIND ?= $(HOST):$(PORT)
serve: export LOG_FORMAT ?= json
serve: export PRINTDESK_STATIC_MANIFEST ?= 1
serve: venv
	@mkdir -p var
	@$(PY) manage.py migrate --noinput -v0
	@$(PY) manage.py collectstatic --noinput -v0
	@echo "Serving on http://$(HOST):$(PORT)/ with gunicorn and the background worker. Ctrl-C stops both."
	@trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
		$(PY) manage.py worker & worker=$$!; \
		$(PY) -m gunicorn -c gunicorn.conf.py printdesk.wsgi

## test: the whole suite (on PostgreSQL when DATABASE_URL points at it)
test: venv
	@$(PY) -m pytest

## lint: formatting, lint rules and types, as CI checks them
lint: venv
	@$(PY) -m ruff format --check .
	@$(PY) -m ruff check .
	@$(PY) -m mypy printdesk

format: venv
	@$(PY) -m ruff format .
	@$(PY) -m ruff check --fix .

check-migrations: venv
	@$(PY) manage.py makemigrations --check --dry-run

## backup: the database and every stored file into a new folder: make backup DEST=/backups/2026-11-27
backup: venv
	@test -n "$(DEST)" || { echo "usage: make backup DEST=<new folder>"; exit 2; }
	@$(PY) manage.py backup "$(DEST)"

## restore: a backup into a new, empty installation: make restore FROM=/backups/2026-11-27
restore: venv
	@test -n "$(FROM)" || { echo "usage: make restore FROM=<backup folder>"; exit 2; }
	@$(PY) manage.py restore "$(FROM)"

## bench: the lifecycle benchmark (set DATABASE_URL to include PostgreSQL)
bench: venv
	@$(PY) bench/transitions.py

## bench-pages: the queue and status pages at 100,000 jobs, served by gunicorn
bench-pages: venv
	@$(PY) bench/pages.py

## bench-uploads: 1 GiB over tus against one plain streaming upload, under gunicorn
bench-uploads: venv
	@$(PY) bench/uploads.py

## bench-email: 10,000 notifications drained into a local SMTP server, one worker then two
bench-email: venv
	@$(PY) bench/email.py

## bench-analysis: a 1.3-million-triangle STL analysed with its preview, against a raw numpy read
bench-analysis: venv
	@$(PY) bench/analysis.py

## bench-load: 50 customers and 5 operators for 5 minutes against two web processes and two workers (PostgreSQL, S3 on moto)
bench-load: venv
	@$(PY) bench/load.py

## screenshots: the request form, status page, queue and job page at desktop and phone widths
screenshots: venv
	@$(PY) scripts/screenshots.py

## lock: re-pin dependencies after editing pyproject.toml
lock: venv
	@$(PY) -m pip install --quiet uv
	@$(VENV)/bin/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) var/test-*.sqlite3 .pytest_cache .mypy_cache .ruff_cache
