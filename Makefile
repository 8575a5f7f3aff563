# The two commands a fresh machine needs: `make run` and `make test`.
# Both create or update .venv first.  torch is pinned to the CPU build that
# lies on our machines' disk; on a CUDA machine install your own torch into
# .venv first (see README) and the pin is skipped because TORCH_SPEC is empty.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
TORCH_SPEC ?= torch==2.13.0
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast venv clean package package-smoke wheel-check package-check interop-check

venv: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@if [ -n "$(TORCH_SPEC)" ] && ! $(BIN)/python -c "import torch" 2>/dev/null; then \
		echo "installing $(TORCH_SPEC)"; $(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"; fi
	$(BIN)/python -m pip install --quiet -e ".[gui,dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/lift-reader gui --open resources/samples/the-lighthouse-keepers-ledger.txt

# lint-imports: the layer contracts of pyproject.toml (import-linter), checked before the tests.
test: $(STAMP)
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -m "not slow"

# Packaging (docs/PACKAGING.md).  `make package-check` builds and runs both deliverables:
# the PyInstaller app folder dist/lift-reader/ (smoke-tested offscreen, converting the embedded
# model once) and the wheel, installed into a fresh venv.  About 10 minutes on 2 cores.
package: $(STAMP)
	packaging/build_app.sh

package-smoke:
	$(BIN)/python packaging/smoke_app.py dist/lift-reader $(SMOKE_ARGS)

wheel-check: $(STAMP)
	$(BIN)/python -c "import build" 2>/dev/null || $(BIN)/python -m pip install --quiet build
	$(BIN)/python packaging/check_wheel.py

package-check: package
	$(MAKE) package-smoke SMOKE_ARGS=--with-model
	$(MAKE) wheel-check

# A real llama.cpp applies our exported GGUF LoRA (docs/INTEROP.md): llama-cpp-python, built from
# source into a venv of its own (10-20 minutes on 2 cores the first time), scores a memorized
# passage of the sample story against the app's own model.  Not part of `make test`.
INTEROP_VENV ?= .interop-venv
INTEROP_ARGS ?=
interop-check: $(STAMP)
	test -x $(INTEROP_VENV)/bin/python || $(PYTHON) -m venv $(INTEROP_VENV)
	$(INTEROP_VENV)/bin/python -c "import llama_cpp" 2>/dev/null || \
		CMAKE_BUILD_PARALLEL_LEVEL=$${CMAKE_BUILD_PARALLEL_LEVEL:-2} nice -n 10 \
		$(INTEROP_VENV)/bin/python -m pip install --quiet llama-cpp-python
	HF_HUB_OFFLINE=1 $(BIN)/python bench/interop_check.py --llama-python $(INTEROP_VENV)/bin/python $(INTEROP_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info
