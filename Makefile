# Everything a fresh machine with Python 3.11 needs: `make test` and `make figures`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install chromium test test-numerics test-browser test-weights figures lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## Unit, property and integration tests, plus every notebook through papermill (profile="smoke");
## then the numerics-sensitive tests again under PyTorch's portable kernels (ATEN_CPU_CAPABILITY=default),
## so a threshold that holds only with this CPU's SIMD kernels fails here, not on a user's machine.
test: install chromium
	$(BIN)/python -m pytest -q
	ATEN_CPU_CAPABILITY=default $(BIN)/python -m pytest -q -m numerics

## The numerics-sensitive tests under each CPU capability and thread count (what docs/reproducibility.md reports).
test-numerics: install
	for cap in default avx2; do for t in 1 2; do \
	  echo "== ATEN_CPU_CAPABILITY=$$cap threads=$$t"; \
	  ATEN_CPU_CAPABILITY=$$cap GSFM_TEST_THREADS=$$t $(BIN)/python -m pytest -q -m numerics || exit 1; \
	done; done

## Execute every notebook at its default parameters; figures go to figures/, executed notebooks to
## build/notebooks/, and readable HTML copies (outputs included) to docs/notebooks/.
figures: install
	$(BIN)/python -m gsfm notebooks --out build/notebooks --html docs/notebooks

## Debian's Chromium for the browser test, installed with apt when we are root and it is missing;
## anywhere else this does nothing and the browser test skips, saying why.
chromium:
	@if ! command -v chromium >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium for tests/test_browser.py"; \
	  { apt-get install -y -q chromium || { apt-get update -q && apt-get install -y -q chromium; }; } \
	    >/tmp/gsfm-chromium-apt.log 2>&1 || echo "chromium not installed (see /tmp/gsfm-chromium-apt.log)"; \
	fi

## The browser test alone: JupyterLab + headless Chromium (Debian's chromium) move notebook 01's σ slider.
test-browser: install chromium
	$(BIN)/python -m pytest -q -m browser tests/test_browser.py

## The shipped weights (weights/) scored on the whole synth-v1 val split against their committed
## J&F rows (minutes per model; `make test` checks them on two videos only).
test-weights: install
	GSFM_TEST_SHIPPED_FULL=1 $(BIN)/python -m pytest -q tests/test_weights.py

lint: install
	$(BIN)/ruff check gsfm tests benchmarks
	$(BIN)/ruff format --check gsfm tests benchmarks

format: install
	$(BIN)/ruff format gsfm tests benchmarks
	$(BIN)/ruff check --fix gsfm tests benchmarks

## Benchmarks that print figures (no timed tests): spectral modules, J&F scoring, inference.
bench: install
	$(BIN)/python benchmarks/bench_spectral.py
	$(BIN)/python benchmarks/bench_metrics.py --data build/synth-val
	$(BIN)/python benchmarks/bench_inference.py --frames 16
	$(BIN)/python benchmarks/bench_inference_parts.py --frames 6

clean:
	rm -rf build .pytest_cache .hypothesis
