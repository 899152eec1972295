# Two commands do all set-up on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench

$(BIN)/edgekd: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[train,search,dev]'
	touch $@

demo: $(BIN)/edgekd
	$(BIN)/edgekd compress

test: $(BIN)/edgekd
	$(BIN)/pytest

lint: $(BIN)/edgekd
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
