# Two commands do all set-up on a fresh clone: `make demo` and `make test`.
# --no-compile: byte-compiling torch's thousands of files took minutes on 2 cores.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint

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
