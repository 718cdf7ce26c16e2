# Two commands set everything up: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?= -n auto

.PHONY: install demo demo-reset serve test lint format translations messages bench clean

install: $(STAMP) translations

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

translations: $(STAMP)
	$(BIN)/pybabel compile --statistics -d translations

demo: install
	$(FLASK) db upgrade
	$(FLASK) demo seed
	@echo "Serving the portal on http://127.0.0.1:5000 (Ctrl-C stops it)"
	$(FLASK) run --host 127.0.0.1 --port 5000

# Delete the demo database and seed a fresh one; the virtualenv stays.
demo-reset:
	rm -f instance/klusbank.sqlite
	$(MAKE) demo

serve: install
	$(FLASK) run --host 127.0.0.1 --port 5000

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python -m benchmarks.run_all

clean:
	rm -rf $(VENV) instance/klusbank.sqlite

# Extract translatable strings and merge them into the catalogs.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k add_nav_entry:3 \
		-o translations/messages.pot klusbank participation rewards liability templates
	$(BIN)/pybabel update --no-fuzzy-matching -i translations/messages.pot -d translations
