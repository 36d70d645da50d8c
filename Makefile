# Two commands on a fresh machine: `make figures` and `make test`.
# Both create (or refresh, when requirements.txt changes) the virtual
# environment in .venv from the pinned requirements first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready

# Rerun the series elsewhere: make figures IMAGE=rocket MODEL=efficientnet_lite2 OUT=out/rocket
# (CHAPTERS=02,04 runs only those chapters).
IMAGE ?=
MODEL ?=
OUT ?=
CHAPTERS ?=

SOURCES := $(wildcard src/history_of_interpretation/*.py src/history_of_interpretation/*/*.py) data/samples.json

# Each chapter's figures are the targets of its notebook: `make` reruns exactly
# the chapters whose notebook or helpers changed. The run rewrites the executed
# notebook, so the figures are touched after it to stay newer.
define chapter
$(2) &: notebooks/$(1).ipynb $(SOURCES) | $(READY)
	$(BIN)/python -m history_of_interpretation.series --notebook notebooks/$(1).ipynb
	touch $(2)
FIGURES += $(2)
endef
# The chapter list lives in notebooks/chapters.toml; this file of rules is made from it.
CHAPTER_RULES := build/chapters.mk
$(CHAPTER_RULES): notebooks/chapters.toml src/history_of_interpretation/chapters.py
	@mkdir -p $(@D)
	$(PYTHON) src/history_of_interpretation/chapters.py makefile > $@.tmp && mv $@.tmp $@
include $(CHAPTER_RULES)

export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0

.PHONY: help figures test lint bench venv clean-venv report browser test-browser app app-test screenshots

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

venv: $(READY) ## create or refresh .venv from requirements.txt

$(READY): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "error: $(PYTHON) is older than Python 3.11; run make PYTHON=python3.11 ..."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

ifeq ($(strip $(IMAGE)$(MODEL)$(OUT)$(CHAPTERS)),)
figures: $(FIGURES) ## run every notebook with papermill and write figures/
else
figures: $(READY) ## (with IMAGE=, MODEL=, OUT=) rerun the series on your image into OUT
	$(BIN)/python -m history_of_interpretation.series --image "$(IMAGE)" --model "$(MODEL)" --out "$(OUT)" --chapters "$(CHAPTERS)"
endif

test: $(READY) $(REPORT_READY) ## run the unit tests, every notebook under nbval and the report's browser tests
	$(BIN)/python -m pytest

lint: $(READY) ## check the house rules: ruff's lint rules and formatting (pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(READY) ## time every method against its floor and PAIR's usual pattern
	$(BIN)/python benchmarks/run.py

clean-venv: ## remove .venv
	rm -rf $(VENV)

# The report: a static book of the committed, executed notebooks (Sphinx + MyST-NB, sources in
# docs/), checked in headless Chromium. Its packages come from requirements-report.in until
# they join the lock.
REPORT_READY := $(VENV)/.report-ready
CHROMIUM ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver
export CHROMIUM CHROMEDRIVER

$(REPORT_READY): requirements-report.in $(READY)
	$(BIN)/python -m pip install --quiet -r requirements-report.in
	touch $@

report: $(REPORT_READY) ## build the book of the executed notebooks: build/report/index.html
	$(BIN)/python -m sphinx -b html -W --keep-going -q -d build/report-doctrees docs build/report
	@echo "The report: open build/report/index.html"

browser: ## install headless Chromium and its driver from Debian (apt-get, as root) if missing
	@if [ -x "$(CHROMIUM)" ] && [ -x "$(CHROMEDRIVER)" ]; then \
		echo "Chromium: $(CHROMIUM), driver: $(CHROMEDRIVER)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; \
	else \
		echo "error: no Chromium at $(CHROMIUM) with a driver at $(CHROMEDRIVER). Install Debian's" \
			"chromium and chromium-driver (sudo apt-get install chromium chromium-driver), or run" \
			"make CHROMIUM=/path/to/chromium CHROMEDRIVER=/path/to/chromedriver ..."; \
		exit 1; \
	fi

test-browser: $(REPORT_READY) browser ## only the report's tests: build it, open every page in headless Chromium
	$(BIN)/python -m pytest tests/test_report.py tests/test_book.py tests/test_badges.py

screenshots: report browser $(APP_READY) ## refresh the README's screenshots of the report and the app (docs/screenshots/)
	$(BIN)/python tests/browser.py build/report/index.html docs/screenshots/report.png
	$(BIN)/python tests/screenshot_app.py docs/screenshots/app.png

# --- the app (src/history_of_interpretation/app.py) ---------------------------
# Its packages (requirements-app.in) go into .venv on top of the lock until the
# lock carries them; its browser tests need Debian's chromium and chromium-driver.
APP_READY := $(VENV)/.app-ready
PORT ?= 7860

$(APP_READY): requirements-app.in | $(READY)
	$(BIN)/python -m pip install --quiet -r requirements-app.in
	touch $@

app-venv: $(APP_READY) ## add the app's packages (gradio, selenium) to .venv

app: $(APP_READY) ## serve the app on http://127.0.0.1:7860 (PORT=... for another port)
	$(BIN)/python -m history_of_interpretation.app --port $(PORT)

app-test: $(APP_READY) browser ## the app's tests, browser included (needs chromium)
	$(BIN)/python -m pytest tests/test_app.py

