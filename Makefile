# The two set-up commands of the README. Both create .venv from the package registries only.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO := build/demo

.PHONY: demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@ $(VENV)/.installed

# Compress a real photo (skimage's astronaut) with a mask from skimage's face detector, then inspect it.
demo: $(VENV)/.installed
	$(BIN)/python scripts/demo_inputs.py $(DEMO)
	$(BIN)/segpress compress $(DEMO)/astronaut.png --mask $(DEMO)/astronaut-mask.png \
		-o $(DEMO)/astronaut.jpg --keep-map --overwrite
	$(BIN)/segpress compress $(DEMO)/astronaut.png --mask $(DEMO)/astronaut-mask.png \
		-o $(DEMO)/astronaut.jxl --overwrite
	$(BIN)/segpress inspect $(DEMO)/astronaut.jpg --map-png $(DEMO)/astronaut-map.png --overwrite

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

# Needs ../shared/data (CamVid); writes benchmarks/results/.
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/jpeg_roi.py

clean:
	rm -rf $(VENV) build
