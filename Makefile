# The two commands of the README:  make run  (serve the demo)  and  make test  (the whole suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1:8000
# Development: links in emails and pages point where `make run` serves (HOST).
DEV := DEBUG=true SITE_URL=http://$(HOST)

.PHONY: run test install system-deps lint check serve bench

$(BIN)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

install: $(BIN)/.installed

## make run: venv, migrations, the Weifang consultation and an admin login, then the site.
run: install
	mkdir -p var
	$(DEV) $(BIN)/python manage.py migrate --noinput
	$(DEV) $(BIN)/python manage.py compilemessages --ignore=.venv -v 0 || true
	$(DEV) $(BIN)/python manage.py seed_demo
	@# Digests and reminders fall due while the site runs: a stand-in for Celery beat.
	trap 'kill 0' EXIT; \
	  $(DEV) $(BIN)/python manage.py run_due_jobs --every 60 > var/due-jobs.log 2>&1 & \
	  $(DEV) $(BIN)/python manage.py runserver $(HOST)

## make test: lint, Django's checks (the deploy check with production settings), the suite.
test: install system-deps
	bash scripts/test $(PYTEST_ARGS)

system-deps:
	bash scripts/system-deps

## make bench: every benchmark, on the PostgreSQL at 127.0.0.1:5432 (about an hour; needs wrk).
bench: install
	$(BIN)/python bench/admin_queue.py
	$(BIN)/python bench/campaigns.py
	$(BIN)/python bench/notifications.py
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/floors.py
