# One command source for developers, the README and CI (.ci/run).
#   make setup    .venv with the package (release build of the Rust core) + dev tools, Go toolchains
#   make test     lint + cargo test + pytest: everything CI runs
#   make example  parse the bundled example trace and print its summary
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
export VIRTUAL_ENV := $(CURDIR)/$(VENV)

.PHONY: setup venv build dev-build go test lint fmt cargo-test pytest corpus example clean

setup: venv build go

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check \
	  "maturin>=1.16,<2" "pyarrow>=16" pandas numpy tqdm \
	  pytest pytest-timeout hypothesis ruff mypy pandas-stubs
	touch $@

# Release build of the extension, installed editable into .venv (the package's
# Python files are used from the working tree).
build: venv
	$(VENV)/bin/maturin develop --release --extras dev

# Faster unoptimised build for iterating on the binding.
dev-build: venv
	$(VENV)/bin/maturin develop --extras dev

go:
	bash tools/install-go.sh

test: lint cargo-test pytest

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy gotrace_df
	cargo fmt --all --check
	PYO3_PYTHON=$(CURDIR)/$(PY) cargo clippy --workspace --all-targets -- -D warnings

fmt: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .
	cargo fmt --all

cargo-test:
	PYO3_PYTHON=$(CURDIR)/$(PY) cargo test --workspace

# Docstring examples are tests too (they run on the bundled example trace).
pytest: venv
	$(PY) -m pytest --doctest-modules gotrace_df tests

corpus: venv
	$(PY) tests/data/make_corpus.py

example: venv
	$(PY) -c "import gotrace_df as gt; print(gt.read_trace(gt.example_trace()))"

clean:
	rm -rf $(VENV) target gotrace_df/*.so
