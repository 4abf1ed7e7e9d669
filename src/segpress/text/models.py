"""The text networks: the student segpress ships (``student_network``) and PP-OCRv4's detector from the
installed ``rapidocr-onnxruntime`` (``ppocr_network``; its int8 version built once and cached by
``quantized_model``), each a ``TextNetwork``: a file and how its probability map is read."""

from __future__ import annotations

import atexit
import functools
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import OptionError
from ..segmenters.base import as_rgb
from ..segmenters.loading import shipped_model_dir
from ..segmenters.onnx import quantize_int8
from .network import DEFAULT_MAX_SIDE, _network_input, working_size
from .regions import PROBABILITY_THRESHOLD, UNCLIP_RATIO

DISTRIBUTION = "rapidocr-onnxruntime"
DETECTOR_FILE = "ch_PP-OCRv4_det_infer.onnx"
RECOGNISER_FILE = "ch_PP-OCRv4_rec_infer.onnx"
INSTALL_HINT = "pip install 'segpress[text]'"
STUDENT_FILE = "text-detector.onnx"  # in segpress/models, with its metadata in text-detector.json
PPOCR_SCALE = 0.75  # PP-OCR's working scale when run as a detector (before the student, segpress's default)
PRECISIONS = ("int8", "float32")


@dataclass(frozen=True)
class TextNetwork:
    """A text network: its ONNX file (input: BGR planes in [-1, 1], sides multiples of 32; output: the
    probability of text-line cores at the input's size) and how to run and read it."""

    name: str
    path: Path
    scale: float  # the working scale it was chosen for (a detector may run it at another)
    threshold: float  # probability above which a pixel is part of a line's core
    unclip_ratio: float  # how far a core grows back to its line (see regions.text_lines)


def student_network() -> TextNetwork:
    """The text student shipped in ``segpress/models`` (trained by ``segpress.train.textstudent``)."""
    path = shipped_model_dir() / STUDENT_FILE
    try:
        metadata = json.loads(path.with_suffix(".json").read_text())
        reading = metadata["detection"]
    except (OSError, ValueError, KeyError) as error:
        raise OptionError(f"the shipped text detector is missing or damaged in {path.parent} ({error}); reinstall segpress") from None
    if not path.is_file():
        raise OptionError(f"the shipped text detector {path} is missing; reinstall segpress")
    return TextNetwork(metadata["name"], path, float(reading["scale"]), float(reading["threshold"]),
                       float(reading["unclip_ratio"]))


def ppocr_network(precision: str = "int8") -> TextNetwork:
    """PP-OCRv4's DB detector from the installed ``rapidocr-onnxruntime`` (``segpress[text]``), read with
    PP-OCR's own post-processing settings; ``"int8"``: quantised here once and cached."""
    if precision not in PRECISIONS:
        raise OptionError(f"text detection precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    source = model_file(DETECTOR_FILE)
    path = quantized_model(source) if precision == "int8" else source
    return TextNetwork(f"PP-OCRv4 det ({precision})", path, PPOCR_SCALE, PROBABILITY_THRESHOLD, UNCLIP_RATIO)

# How the int8 detector is built (see quantized_model); a new recipe makes a new cache entry. Change the
# version with anything that changes the built file: the calibration pictures, scale or input preparation
# (_network_input), or the quantisation settings.
_QUANTIZATION_RECIPE = (
    "ppocrv4-det int8 v4: ORT pre-process, opset 17, QOperator, per-channel, reduce_range, MinMax, "
    "bicubic calibration inputs at scale 0.75"
)
# Text-free scikit-image pictures and a document page, none of them in benchmarks/text.py.
_CALIBRATION_PICTURES = ("camera", "page", "brick", "immunohistochemistry", "retina", "colorwheel", "logo", "moon")


def model_file(name: str) -> Path:
    """The path of ``name`` inside the installed ``rapidocr-onnxruntime`` (found without importing it).

    ``OptionError`` naming the extra when the package is not installed.
    """
    try:
        files = metadata.files(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        raise OptionError(
            f"text detection needs the PP-OCR models of {DISTRIBUTION}, which is not installed: {INSTALL_HINT}"
        ) from None
    for entry in files:
        if entry.name == name:
            path = Path(entry.locate())
            if path.is_file():
                return path
    raise OptionError(f"{name} is missing from the installed {DISTRIBUTION}; reinstall it: {INSTALL_HINT}")


def quantized_model(source: Path) -> Path:
    """The int8 version of the float32 detector ``source``: built on first use, then read from the cache.

    Why: int8 convolutions (VNNI on these CPUs) let the network run at a higher resolution for the time:
    on the earlier benchmark's 288 lines (plates on scikit-image photos) int8 at 0.7 found 274 against
    257 for float32 at 0.6 (70 against 67 ms/MP), 280 for float32 at 0.8 (112 ms/MP); on the lines of
    today's benchmark int8 and float32 at one scale find within a few lines of each other.
    How: onnxruntime's own tools, as its documentation for CNNs says: its pre-processing, the opset raised
    to 17, static quantisation (QOperator, int8 weights per channel with reduce_range, which keeps
    CPUs without VNNI from saturating; uint8 activations calibrated by MinMax on _CALIBRATION_PICTURES at
    the default scale). About 3 s once. The file lands in ``SEGPRESS_CACHE_DIR`` (default
    ``$XDG_CACHE_HOME/segpress`` or ``~/.cache/segpress``), named by a hash of the source model, the
    recipe and the onnx and onnxruntime versions, written atomically (processes that race write the
    same bytes); where the cache cannot be written, a private temporary folder holds it.
    """
    import onnxruntime

    try:
        import onnx
    except ImportError:
        raise OptionError(f"the int8 text detector is built with onnx, which is not installed: {INSTALL_HINT}") from None
    key = hashlib.sha256(source.read_bytes())
    key.update(f"{_QUANTIZATION_RECIPE}|onnx {onnx.__version__}|onnxruntime {onnxruntime.__version__}".encode())
    name = f"ppocrv4-det-int8-{key.hexdigest()[:16]}.onnx"
    for folder in (_cache_dir(), None):
        try:
            target = Path(folder or _private_dir()) / name
            if not target.is_file():
                _quantize(source, target)
            return target
        except OSError:
            continue  # an unwritable cache: build in a private folder instead
    raise OptionError(f"cannot write the int8 text detector anywhere (cache {_cache_dir()})")


def _cache_dir() -> Path:
    if os.environ.get("SEGPRESS_CACHE_DIR"):
        return Path(os.environ["SEGPRESS_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "segpress"


@functools.lru_cache(maxsize=1)
def _private_dir() -> str:
    """A temporary folder of this process, removed when it exits."""
    folder = tempfile.mkdtemp(prefix="segpress-text-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _quantize(source: Path, target: Path) -> None:
    # PP-OCR's export is opset 12: converted to 17 first (see quantize_int8).
    target.parent.mkdir(parents=True, exist_ok=True)
    built = quantize_int8(source.read_bytes(), calibration_inputs(PPOCR_SCALE), opset=17)
    partial_file = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    partial_file.write_bytes(built)
    os.replace(partial_file, target)


def calibration_inputs(scale: float) -> list[dict[str, np.ndarray]]:
    """Network inputs for int8 calibration: text-free pictures and a document page from scikit-image, none
    of them in benchmarks/text.py, at working ``scale`` (the PP-OCR build here; the student's at export)."""
    from skimage import data

    inputs = []
    for name in _CALIBRATION_PICTURES:
        picture = getattr(data, name)()
        rgb = as_rgb(np.ascontiguousarray(picture[..., :3] if picture.ndim == 3 else picture), "text detection")
        # Bicubic here, though detection resizes bilinearly: the int8 detector calibrated on bicubic
        # inputs found 274 of 288 lines of the earlier benchmark at 0.7, on bilinear ones 263 (the sharper
        # inputs widen the activation ranges a little, and small text's strong responses clip less).
        inputs.append({"x": _network_input(rgb, working_size(*rgb.shape[:2], scale, DEFAULT_MAX_SIDE), Image.Resampling.BICUBIC)})
    return inputs
