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
# Chapter 12's measurements on your photos: make evaluate IMAGES=photos/ OUT=out/eval
# (IMAGES= a folder or comma-separated samples/paths; optional MODEL=, METHODS=a,b, METRICS=a,b).
IMAGES ?=
METHODS ?=
METRICS ?=

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

.PHONY: help figures test bench evaluate venv clean-venv

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

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

test: $(READY) ## run the unit tests and every notebook under nbval
	$(BIN)/python -m pytest

bench: $(READY) ## time every method against its floor and PAIR's usual pattern
	$(BIN)/python benchmarks/run.py

evaluate: $(READY) ## (IMAGES=, OUT=, MODEL=, METHODS=) sanity checks and faithfulness on your photos into OUT
	$(BIN)/python -m history_of_interpretation.evaluate_photos --images "$(IMAGES)" --out "$(OUT)" \
		--model "$(MODEL)" --methods "$(METHODS)" --metrics "$(METRICS)"

clean-venv: ## remove .venv
	rm -rf $(VENV)
