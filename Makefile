# Two commands set everything up on a fresh machine:
#   make run    install photoclip into .venv and open the app
#               (make run TORCH_INDEX=cpu: CPU-only torch, about 4 GB less; see README)
#   make test   install photoclip with its test tools (and, as root on Debian, the
#               system packages the real-window and sidecar tests use), then run all tests
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PIP := $(VENV)/bin/pip
# torch first and pinned: these releases are the ones this project is tested with.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
# TORCH_INDEX=cpu takes torch from PyTorch's own index of CPU-only wheels (no NVIDIA libraries,
# for machines without an NVIDIA GPU; needs internet access to download.pytorch.org); any other
# value names another of its indexes (download.pytorch.org/whl/VALUE). Empty (the default): PyPI.
# It applies when .venv is first made: `make clean` before switching.
TORCH_INDEX ?=
TORCH_INDEX_ARGS := $(if $(TORCH_INDEX),--index-url https://download.pytorch.org/whl/$(TORCH_INDEX),)
PYTEST_ARGS ?=
SYSTEM_PACKAGES := xvfb xauth libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 \
	libxkbcommon-x11-0 libegl1 libgl1 libfontconfig1 libdbus-1-3 dbus-daemon desktop-file-utils xdg-utils libimage-exiftool-perl

.PHONY: run test lint install install-test system-deps bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	@echo "Installing torch and photoclip's other packages into .venv (several GB the first time: minutes with no output)..."
	$(PIP) install --quiet $(TORCH_INDEX_ARGS) $(TORCH_SPEC)
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PIP) install --quiet -e '.[test,heic,raw,cluster,ann]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# Debian packages for Xvfb window tests, desktop-file-validate and exiftool; needs root.
system-deps:
	@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
		if [ -n "$$missing" ]; then \
			echo "installing:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		fi; \
	else \
		echo "note: not root or no apt-get; tests that need Xvfb or exiftool are skipped if those are missing"; \
	fi

run: install
	$(VENV)/bin/photoclip

test: system-deps install-test
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# Lint, format, types and the import layers (CI runs this before the tests).
lint: install-test
	$(VENV)/bin/ruff check photoclip tests benchmarks main.py
	$(VENV)/bin/ruff format --check photoclip tests benchmarks main.py
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: install
	$(VENV)/bin/python benchmarks/bench_search.py
	$(VENV)/bin/python benchmarks/bench_rescan.py
	$(VENV)/bin/python benchmarks/bench_index.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache test-artifacts
