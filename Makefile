# One command source for developers, the README and CI (.ci/run).
#   make setup    .venv with the package (release build of the Rust core) + dev tools, Go toolchains
#   make test     lint + cargo test + pytest: everything CI runs
#   make example  parse the bundled example trace and print its summary
#   make viewer   the browser UI (gotrace-df on 127.0.0.1:8866) on the bundled example;
#                 VIEWER_TRACE=path/to/trace.out opens another trace
#   make wheel    the wheel users install (target/wheels/), with the sdist
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
export VIRTUAL_ENV := $(CURDIR)/$(VENV)

.PHONY: setup venv build dev-build wheel go browser viewer test lint fmt cargo-test pytest corpus example clean fuzz

setup: venv build go browser

venv: $(VENV)/.installed

# pyproject.toml is the one list of Python dependencies: its build requirement
# (maturin), the package's own and those of the dev, ui and lake extras.
REQUIREMENTS = import tomllib; t = tomllib.load(open("pyproject.toml", "rb")); p = t["project"]; \
  x = p["optional-dependencies"]; \
  print(*t["build-system"]["requires"], *p["dependencies"], *x["dev"], *x["ui"], *x["lake"], sep="\n")

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -c '$(REQUIREMENTS)' > $(VENV)/requirements.txt
	$(PY) -m pip install -q --disable-pip-version-check -r $(VENV)/requirements.txt
	touch $@

# Release build of the extension, installed editable into .venv (the package's
# Python files are used from the working tree).
build: venv
	$(VENV)/bin/maturin develop --release --extras dev,ui,lake

# What users install: pip install target/wheels/gotrace_df-*.whl (the sdist
# builds the same wheel where no wheel fits the platform).
wheel: venv
	$(VENV)/bin/maturin build --release
	$(VENV)/bin/maturin sdist

# Faster unoptimised build for iterating on the binding.
dev-build: venv
	$(VENV)/bin/maturin develop --extras dev,ui,lake

go:
	bash tools/install-go.sh

# Debian's Chromium for the browser tests (Playwright drives it; it never
# downloads a browser of its own).
browser:
	command -v chromium >/dev/null || { apt-get update -q && apt-get install -y -q chromium; }

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
# The slowest tests are listed at the end, to keep the suite's time in view.
pytest: venv
	$(PY) -m pytest --doctest-modules --durations=15 gotrace_df tests

corpus: venv
	$(PY) tests/data/make_corpus.py

example: venv
	$(PY) -c "import gotrace_df as gt; print(gt.read_trace(gt.example_trace()))"

# The viewer, as users run it: `gotrace-df` on loopback (its page cap, idle
# kernel culling and path policy included), on the bundled example trace
# unless VIEWER_TRACE names another.
VIEWER_PORT ?= 8866
VIEWER_TRACE ?=
viewer: venv
	$(VENV)/bin/gotrace-df -http=127.0.0.1:$(VIEWER_PORT) \
	  "$${VIEWER_TRACE:-$$($(PY) -c 'import gotrace_df as gt; print(gt.example_trace())')}"

clean:
	rm -rf $(VENV) target gotrace_df/*.so

# Coverage-guided fuzzing of the Rust parser, on one core for FUZZ_TIME seconds
# (nightly Rust; cargo-fuzz is installed on first use). Seeds: the small corpus
# traces and Go's own FuzzReader corpus (fuzz/seeds.py). Crashes, hangs and
# out-of-memory inputs land in crates/gotrace-core/fuzz/artifacts/parse/: keep
# each as a regression case in crates/gotrace-core/tests/regressions/ (see its
# README.md), fix it, delete the artifact. See crates/gotrace-core/fuzz/README.md.
FUZZ_TIME ?= 600
FUZZ_DIR  := crates/gotrace-core/fuzz
fuzz:
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
	python3 $(FUZZ_DIR)/seeds.py $(FUZZ_DIR)/corpus/parse
	mkdir -p $(FUZZ_DIR)/artifacts/parse
	cd crates/gotrace-core && cargo +nightly fuzz run -s none -a parse fuzz/corpus/parse -- \
	  -max_total_time=$(FUZZ_TIME) -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 \
	  -max_len=16384 -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
	  -artifact_prefix=fuzz/artifacts/parse/ -print_final_stats=1
	@n=$$(ls $(FUZZ_DIR)/artifacts/parse | wc -l); echo "fuzz: $$n input(s) in $(FUZZ_DIR)/artifacts/parse"; test $$n -eq 0
