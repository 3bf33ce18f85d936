# Backpropagation from first principles: build, test and benchmark.
# `make book` and `make test` are the two commands of the README.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# Jupyter's own deprecation notice about platformdirs; opt in to the new paths.
export JUPYTER_PLATFORM_DIRS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: setup book test lab bench exercises clean

setup: $(STAMP)

# Idempotent: re-runs only when the pinned requirements change.
# torch first and exactly pinned: it takes the CPU wheel; anything looser
# downloads a multi-GB CUDA build.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

# `make book SOLUTIONS=no` leaves the "Solutions" part out of the book.
SOLUTIONS ?= yes
ifeq ($(SOLUTIONS),no)
TOC_ARG := --toc _build/toc-no-solutions.yml
endif

book: setup
ifeq ($(SOLUTIONS),no)
	$(PY) scripts/toc_without_solutions.py _build/toc-no-solutions.yml
endif
	rm -rf _build/html   # no stale pages (a left-over Solutions part) survive a rebuild
	$(VENV)/bin/jupyter-book build --all -W -n --keep-going $(TOC_ARG) .
	@echo "Book built: open _build/html/index.html"

test: setup
	$(PY) -m pytest tests --nbval chapters exercises --nbval-sanitize-with tests/nbval-sanitize.cfg --durations=15

lab: setup
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root,)

bench: setup
	$(PY) benchmarks/bench_mlp.py
	$(PY) benchmarks/bench_grade.py

exercises: setup
	$(PY) scripts/make_exercises.py

clean:
	rm -rf _build
