# Neural Audio Lab — every command creates or refreshes .venv itself.
#   make demo   run every notebook top to bottom in quick mode (results under outputs/)
#   make test   run the whole test suite (notebooks included)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH_VERSION ?= 2.13.0
REQS := requirements.txt requirements-dev.txt requirements-nodeps.txt pyproject.toml
PYTEST_ARGS ?= -n 2 --dist loadgroup --durations=15

.PHONY: demo test lab bench env system-deps lint clean help install-here student nam-core

help:
	@echo "make demo | test | lab | bench | lint | student | system-deps | nam-core | clean"

# pip on some machines repeats a harmless "Location ... is ignored" warning per package; hide only that.
QUIET := 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
.SHELLFLAGS := -o pipefail -c

# install_into(python): the one install recipe, used for .venv and for Colab (`make install-here`).
define install_into
	$(1) -m pip install -q --upgrade pip "setuptools<81" wheel $(QUIET)
	@# A machine without torch gets the CPU wheel; an existing torch (e.g. Colab's CUDA build) is kept.
	@$(1) -c "import torch" 2>/dev/null || $(1) -m pip install -q torch==$(TORCH_VERSION) $(QUIET)
	$(1) -m pip install -q -r requirements.txt $(2) $(QUIET)
	$(1) -m pip install -q --no-deps --no-build-isolation -r requirements-nodeps.txt $(QUIET)
	$(1) -m pip install -q --no-deps --no-build-isolation -e . $(QUIET)
endef

# The environment is rebuilt only when a requirements file changes (the stamp is older).
$(STAMP): $(REQS)
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(call install_into,$(VPY),-r requirements-dev.txt)
	$(VPY) -m ipykernel install --sys-prefix --name neural-audio-lab --display-name "Neural Audio Lab (.venv)" >/dev/null
	@touch $(STAMP)

# Install into the current Python (Colab, or an environment you manage yourself); PY=/path/to/python picks another.
# Everything the notebooks use, neural-amp-modeler included; an existing torch and ipywidgets are kept.
PY ?= python3
install-here:
	$(call install_into,$(PY),)

env: $(STAMP)

demo: $(STAMP)
	$(VPY) -m helpers.notebooks --quick --output-dir outputs/notebooks

test: $(STAMP) nam-core
	$(VPY) -m mypy
	$(VPY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VPY) -m ruff check .
	$(VPY) -m mypy

# Student versions of the notebooks (solution regions replaced by stubs) under notebooks/student/.
student: $(STAMP)
	$(VPY) -m helpers.student

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/ 2>/dev/null || ($(VPY) -m pip install -q jupyterlab && $(VENV)/bin/jupyter lab notebooks/)

bench: $(STAMP)
	$(VPY) -m helpers.bench

# NAM's C++ core as WebAssembly (npm), beside the environment: the tests play the exported .nam files in it.
# Optional: without node/npm (or the registry) those tests are skipped with the reason.
NAM_CORE := $(VENV)/nam-core
NAM_CORE_PKG := @opendaw/nam-wasm@1.2.0
nam-core:
	@test -f $(NAM_CORE)/node_modules/@opendaw/nam-wasm/dist/nam.wasm || { command -v npm >/dev/null \
		&& npm install --silent --no-audit --no-fund --prefix $(NAM_CORE) $(NAM_CORE_PKG) >/dev/null \
		&& echo "NAM's C++ core installed in $(NAM_CORE)" \
		|| echo "nam-core: needs node and npm ($(NAM_CORE_PKG)); the tests that play .nam files in NAM's core are skipped"; }

# Optional system tools; everything works without them through Python fallbacks.
system-deps:
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			abcmidi timidity timgm6mb-soundfont fluidsynth >/dev/null && echo "system tools installed"; \
	else echo "system-deps: needs root and apt-get; skipping (Python fallbacks will be used)"; fi

clean:
	rm -rf outputs/* checkpoints/* $(VENV)
