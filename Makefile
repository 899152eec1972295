# Two commands do all set-up on a fresh clone: `make demo` and `make test`.
# --no-compile: byte-compiling torch's thousands of files took minutes on 2 cores. Instead
# the modules a run imports are cached on first import: an inherited PYTHONDONTWRITEBYTECODE
# (set on these hosts) made every process recompile them, ~10 s of CPU per edgekd process.
export PYTHONDONTWRITEBYTECODE :=
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint stats tables reports check-readme

$(BIN)/edgekd: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --no-compile torch==2.13.0
	$(BIN)/python -m pip install -q --no-compile -e '.[train,search,dev]'
	touch $@

demo: $(BIN)/edgekd
	$(BIN)/edgekd compress

test: $(BIN)/edgekd
	$(BIN)/pytest

lint: $(BIN)/edgekd
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# Developer helpers (tools/; each has --help).
stats:  # longest files and functions, import cycles and wrong-way imports (stdlib only)
	$(PYTHON) tools/code_stats.py

tables: $(BIN)/edgekd  # every benchmarks/results table; `make tables QUICK=1` for tiny sizes
	$(BIN)/python tools/results_tables.py $(if $(QUICK),--quick)

RUNS ?= runs
reports: $(BIN)/edgekd  # redraw report.md/.html of every run and search under $(RUNS)
	$(BIN)/python tools/rerender_reports.py $(RUNS)

check-readme: $(BIN)/edgekd  # the README's edgekd command lines still parse
	$(BIN)/python tools/check_readme.py
