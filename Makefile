# Two commands on a fresh machine: `make figures` and `make test`.
# Both create (or refresh, when requirements.txt changes) the virtual
# environment in .venv from the pinned requirements first.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready

# Rerun the series elsewhere: make figures IMAGE=rocket MODEL=efficientnet_lite2 OUT=out/rocket
IMAGE ?=
MODEL ?=
OUT ?=

NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
SOURCES := $(wildcard src/history_of_interpretation/*.py src/history_of_interpretation/*/*.py) data/samples.json
STAMPS := $(NOTEBOOKS:notebooks/%.ipynb=figures/.%.done)

export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0

.PHONY: help figures test bench venv clean-venv

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 14

venv: $(READY) ## create or refresh .venv from requirements.txt

$(READY): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

ifeq ($(strip $(IMAGE)$(MODEL)$(OUT)),)
figures: $(STAMPS) ## run every notebook with papermill and write figures/
else
figures: $(READY) ## (with IMAGE=, MODEL=, OUT=) rerun the series on your image into OUT
	$(BIN)/python -m history_of_interpretation.series --image "$(IMAGE)" --model "$(MODEL)" --out "$(OUT)"
endif

# A notebook's stamp is older than the notebook or the helpers: run it again.
figures/.%.done: notebooks/%.ipynb $(SOURCES) | $(READY)
	$(BIN)/python -m history_of_interpretation.series --notebook $<
	touch $@

test: $(READY) ## run the unit tests and every notebook under nbval
	$(BIN)/python -m pytest

bench: $(READY) ## time every method against its floor and PAIR's usual pattern
	$(BIN)/python benchmarks/run.py

clean-venv: ## remove .venv
	rm -rf $(VENV)
