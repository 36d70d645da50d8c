# Two commands on a fresh machine: `make figures` and `make test`.
# Both create (or refresh, when requirements.txt changes) the virtual
# environment in .venv from the lock (requirements.txt) first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready
UV := $(BIN)/uv
# Colab's runtime (colab-runtime.txt) plus what the notebooks' first cell installs.
COLAB_VENV := .venv-colab
COLAB_READY := $(COLAB_VENV)/.ready
COLAB_CHAPTER := 02_vanilla_gradients

# Rerun the series elsewhere: make figures IMAGE=rocket MODEL=efficientnet_lite2 OUT=out/rocket
# (CHAPTERS=02,04 runs only those chapters).
IMAGE ?=
MODEL ?=
OUT ?=
CHAPTERS ?=
# Chapter 12's measurements on your photos: make evaluate IMAGES=photos/ OUT=out/eval
# (IMAGES= a folder or comma-separated samples/paths; optional MODEL=, METHODS=a,b, METRICS=a,b).
IMAGES ?=
METHODS ?=
METRICS ?=
# ENGINE=ray runs them on Ray: every core here, or the cluster at RAY_ADDRESS.
ENGINE ?= serial
# The verdict at scale (chapter 13): make verdict [IMAGES=folder] [CASES=40] [OUT=out/verdict] [ENGINE=ray]
CASES ?=

SOURCES := $(wildcard src/history_of_interpretation/*.py src/history_of_interpretation/*/*.py src/coursetools/*.py) data/samples.json

# Each chapter's figures are the targets of its notebook: `make` reruns exactly
# the chapters whose notebook or helpers changed. The run rewrites the executed
# notebook, so the figures are touched after it to stay newer.
define chapter
$(2) &: notebooks/$(1).ipynb $(SOURCES) | $(READY)
	@$(BIN)/python -m coursetools.series --notebook notebooks/$(1).ipynb
	@touch $(2)
FIGURES += $(2)
FIGURES_OF_$(1) := $(2)
endef
# The chapter list lives in notebooks/chapters.toml; this file of rules is made from it.
CHAPTER_RULES := build/chapters.mk
$(CHAPTER_RULES): notebooks/chapters.toml src/coursetools/chapters.py
	@mkdir -p $(@D)
	@$(PYTHON) src/coursetools/chapters.py makefile > $@.tmp && mv $@.tmp $@
include $(CHAPTER_RULES)

export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0

.PHONY: help figures test test-colab lint lock bench evaluate verdict venv clean-venv report browser test-browser app screenshots

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

venv: $(READY) ## create or refresh .venv from requirements.txt

# uv (from PyPI, at the lock's version) installs the lock several times faster than pip.
$(READY): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' || \
		{ echo "error: $(PYTHON) is not Python 3.11 to 3.13; run make PYTHON=python3.11 ..."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$$(grep -m1 '^uv==' requirements.txt | cut -d' ' -f1)"
	$(UV) pip install --quiet --python $(BIN)/python -r requirements.txt
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	touch $@

lock: $(READY) ## recompile requirements.txt and environment.yml from requirements.in, for every platform
	$(UV) pip compile --quiet --universal --python-version 3.11 --custom-compile-command "make lock" \
		requirements.in -o requirements.txt
	$(BIN)/python src/coursetools/lock.py environment-yml > environment.yml.tmp
	mv environment.yml.tmp environment.yml

ifeq ($(strip $(IMAGE)$(MODEL)$(OUT)$(CHAPTERS)),)
figures: $(FIGURES) ## run every notebook with papermill and write figures/
else
figures: $(READY) ## (with IMAGE=, MODEL=, OUT=) rerun the series on your image into OUT
	$(BIN)/python -m coursetools.series --image "$(IMAGE)" --model "$(MODEL)" --out "$(OUT)" --chapters "$(CHAPTERS)"
endif

# Two pytest runs side by side (the two longest chapters, and the rest): one alone leaves much of 2 cores idle.
test: $(READY) ## run the unit tests, every notebook under nbval, and the browser tests of the report and the app
	$(BIN)/python -m coursetools.parallel_tests

lint: $(READY) ## check the house rules: ruff's lint rules and formatting, mypy's types (pyproject.toml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Colab runs Python 3.13 with TensorFlow 2.20 (colab-runtime.txt); on Linux its CPU-only
# wheel, tensorflow-cpu 2.20.0, stands in for the GPU build. The set-up is the notebooks'
# own first cell (colab.py install); then the unit tests, one chapter under nbval and that
# chapter's figures against figures/. Left out: the other figures (they rerun every chapter)
# and the lock's platform check (make test runs both), the one test that calls make (it
# builds .venv, not this environment), and the browser tests of the report and the app (a
# Colab reader opens neither in a browser here).
$(COLAB_READY): colab-runtime.txt requirements-colab.txt pyproject.toml src/coursetools/colab.py | $(READY)
	rm -rf $(COLAB_VENV)
	python=$$($(BIN)/python src/coursetools/colab.py find-python) && $$python -m venv $(COLAB_VENV)
	$(BIN)/python src/coursetools/colab.py runtime-requirements > $(COLAB_VENV)/runtime.txt
	$(UV) pip install --quiet --python $(COLAB_VENV)/bin/python -r $(COLAB_VENV)/runtime.txt
	$(COLAB_VENV)/bin/python src/coursetools/colab.py install
	touch $@

test-colab: $(COLAB_READY) ## the unit tests, one chapter and its figures in Colab's runtime (Python 3.13, TensorFlow 2.20)
	HISTORY_OF_INTERPRETATION_RUNTIME=colab $(COLAB_VENV)/bin/python -m pytest notebooks/$(COLAB_CHAPTER).ipynb tests \
		-k "not test_figure_regenerates $(foreach figure,$(notdir $(FIGURES_OF_$(COLAB_CHAPTER))),or $(figure))" \
		--ignore tests/course/test_platforms.py \
		--ignore tests/course/test_report.py --ignore tests/course/test_book.py --ignore tests/app \
		--deselect tests/course/test_series.py::test_make_reports_a_missing_image_before_running_notebooks

bench: $(READY) ## time every method and chapter 12's curves against their floors; the evaluation serial, on Ray, against its floor
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/curves.py
	$(BIN)/python benchmarks/evaluation_throughput.py
	$(BIN)/python benchmarks/evaluation_cost.py

evaluate: $(READY) ## (IMAGES=, OUT=, MODEL=, METHODS=, ENGINE=ray) sanity checks and faithfulness on your photos into OUT
	$(BIN)/python -m history_of_interpretation.evaluation --images "$(IMAGES)" --out "$(OUT)" \
		--model "$(MODEL)" --methods "$(METHODS)" --metrics "$(METRICS)" --engine "$(ENGINE)"

verdict: $(READY) ## every method on 200 grid cases and every packaged photo into data/verdict (IMAGES=, CASES=, OUT=, ENGINE=)
	$(BIN)/python -m history_of_interpretation.evaluation.verdict --engine "$(ENGINE)" \
		$(if $(OUT),--out "$(OUT)") $(if $(CASES),--cases "$(CASES)") $(if $(IMAGES),--images "$(IMAGES)")

clean-venv: ## remove .venv
	rm -rf $(VENV)

# The report: a static book of the committed, executed notebooks (Sphinx + MyST-NB, sources in
# docs/), checked in headless Chromium, as is the app.
CHROMIUM ?= /usr/bin/chromium
CHROMEDRIVER ?= /usr/bin/chromedriver
export CHROMIUM CHROMEDRIVER

report: $(READY) ## build the book of the executed notebooks: build/report/index.html
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

test-browser: $(READY) browser ## only the browser-facing tests: the report's pages and the app
	$(BIN)/python -m pytest tests/course/test_report.py tests/course/test_book.py tests/course/test_colab_cells.py tests/app

screenshots: report browser ## refresh the README's screenshots of the book and the app (docs/screenshots/)
	$(BIN)/python docs/screenshots.py build/report docs/screenshots
	$(BIN)/python tests/screenshot_app.py docs/screenshots/app.png

# The app (src/history_of_interpretation/app/): the article's demos in Gradio.
PORT ?= 7860

app: $(READY) ## serve the app on http://127.0.0.1:7860 (PORT=... for another port)
	$(BIN)/python -m history_of_interpretation.app --port $(PORT)


