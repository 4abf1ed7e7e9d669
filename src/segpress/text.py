"""Text as an importance source: where the picture holds writing (signs, plates, labels, documents).

A blurred plate or sign is information lost, and semantic classes alone do not find it. This module
runs PP-OCRv4's text detector (a DB network, "Differentiable Binarization"; Apache-2.0) from the
``rapidocr-onnxruntime`` package, with onnxruntime and numpy only: nothing is downloaded, and the
package's own code (and its OpenCV dependency) is not needed to detect text. By default the network
runs in int8: built from the package's float32 file on first use with onnxruntime's quantisation
tools and cached (``quantized_model``).

    pixels ─ bilinear resize (working scale, sides multiples of 32) ─ BGR, (x / 255 - 0.5) / 0.5 ─ DB network
        ─ text probability (h, w) ─ > 0.3, components of mean probability >= 0.5, each grown by
          area x 1.6 / perimeter (PP-OCR's "unclip") ─ text regions (h, w)
        ─ resampled to the image: TextDetection.regions (H, W) bool, .probability (H, W), .boxes

The network's probability marks the *core* of each text line (DB is trained on boxes shrunk by
about 40 %); the unclip step grows each core back to the line's full extent, as PP-OCR does before
cutting lines out for recognition. ``sources.build_importance`` merges the regions into the importance
map with the policy's ``text`` weight (``segpress.policy``).

Speed against reach: the network runs at 0.75 of the image's resolution (``scale``; a policy's
``text_scale`` or ``--text-scale`` may ask for another; the ``text`` preset asks for 1.5) and at most
``max_side`` pixels on its longer side; the budget is 80 ms per megapixel on 2 CPU cores (text finding
must not cost more than the encode it guides). Reach
is bought with resolution, and nothing else measured came close (``benchmarks/text.py``: lines of
12-32 px in 12 fonts, colours and rotations on real photos; held-out seeds, IoU >= 0.5): int8 at 0.75
finds 33 % of 12-14 px lines and 61 % of 16-32 px ones (0.7, the default before: 22 % and 51 %) for
1.1-1.2 times 0.7's CPU time; at 1.0, 66 % and 74 % (2.1 times); at 1.5, 81 % and 88 % (5 times), as
the package's own pipeline (which brings the shorter side up to 736 px: 79 % and 87 %). Lowering the
thresholds, more or less box growth, other resampling filters, unsharp masking and float32 instead of
int8 each changed at most a few lines of 180 (the choosing seeds). Text on busy texture (façades,
foliage) needs the resolution even at 24-32 px. A cheap pass to say where to look at a high scale did
not pay (``benchmarks/text_proposals.py``): at a low scale the network's probability is zero on the
lines it misses, float32 too, so it proposes only what the default finds; edge density covers the lines
only when it proposes about 30 % of a photo, where the second pass alone costs more than the default.

Large photos keep the scale: up to ``max_side`` (3072) working pixels, so a 12 MP photo runs at 0.75
(before, a cap of 1600 ran it at 0.4 and found 2 % of 12-14 px lines and 22 % of 16-32 px ones on
3840x2880 scenes, held out; now 38 % and 60 %, for 3.2 times the CPU time). Working images over
``tile_side`` (1024) run as overlapping tiles, so the network's memory stays under about 100 MB
whatever the photo (it needs about 100 MB per working megapixel in one piece); each tile keeps the part
nearer its centre, with at least TILE_OVERLAP / 2 pixels of context, and post-processing runs on the
stitched map, so lines across seams stay whole.

``read_text`` runs the same package's recogniser on given boxes (for benchmarks and checks); unlike
detection it imports the package's own code, which needs OpenCV, pyclipper and Shapely.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from functools import cached_property
from importlib import metadata
from os import fspath
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .errors import InputError, OptionError
from .segmenters.base import as_rgb, resize_bilinear
from .segmenters.onnx import open_session, quantize_int8, tile_starts

DISTRIBUTION = "rapidocr-onnxruntime"
DETECTOR_FILE = "ch_PP-OCRv4_det_infer.onnx"
RECOGNISER_FILE = "ch_PP-OCRv4_rec_infer.onnx"
INSTALL_HINT = "pip install 'segpress[text]'"

DEFAULT_SCALE = 0.75  # working resolution relative to the image (see the module docstring)
PRECISIONS = ("int8", "float32")
# How the int8 detector is built (see quantized_model); a new recipe makes a new cache entry. Change the
# version with anything that changes the built file: the calibration pictures, scale or input preparation
# (_network_input), or the quantisation settings.
_QUANTIZATION_RECIPE = (
    "ppocrv4-det int8 v4: ORT pre-process, opset 17, QOperator, per-channel, reduce_range, MinMax, "
    "bicubic calibration inputs at scale 0.75"
)
# Text-free scikit-image pictures and a document page, none of them in benchmarks/text.py.
_CALIBRATION_PICTURES = ("camera", "page", "brick", "immunohistochemistry", "retina", "colorwheel", "logo", "moon")
DEFAULT_MAX_SIDE = 3072  # the working image's longer side at most: bounds time on huge images
# The network runs on tiles of at most this side (working pixels): its memory grows by about 100 MB per
# working megapixel (measured: +180 MB at 1600x1216, +650 MB at 3008x2240), so tiles bound it.
TILE_SIDE = 1024
TILE_OVERLAP = 128  # working pixels shared by neighbouring tiles; each keeps half
STRIDE = 32  # the DB network's input sides must be multiples of this
# PP-OCR's DB post-processing (rapidocr's config.yaml: thresh, box_thresh, unclip_ratio).
PROBABILITY_THRESHOLD = 0.3
SCORE_THRESHOLD = 0.5
UNCLIP_RATIO = 1.6
MIN_SIDE = 3  # a core thinner than this (working pixels) is noise, as PP-OCR's min_size

Box = tuple[int, int, int, int]  # left, top, right, bottom in image pixels (right and bottom exclusive)


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


@dataclass
class TextDetection:
    """Where an image holds text, at the image's resolution.

    ``regions`` (H, W) bool is what importance uses: 1 inside each detected text line (grown to its
    full extent), 0 elsewhere. ``probability`` is the network's own per-pixel text probability,
    resampled to the image (the cores of lines; built on first use). ``boxes`` are the bounding boxes
    of the lines, in image pixels, top to bottom.
    """

    working_probability: np.ndarray  # (h, w) float32, at the working resolution
    working_regions: np.ndarray  # (h, w) bool
    working_boxes: list[Box]  # one per line, at the working resolution
    height: int
    width: int
    seconds: float = 0.0
    regions: np.ndarray = field(init=False, repr=False)
    boxes: list[Box] = field(init=False)

    def __post_init__(self) -> None:
        # Nearest neighbour: steps of under 2 pixels at the edges, finer than a JPEG block, 6x faster than
        # a bilinear filter thresholded halfway.
        working = Image.fromarray(self.working_regions)
        self.regions = np.asarray(working.resize((self.width, self.height), Image.Resampling.NEAREST))
        self.boxes = _scale_boxes(self.working_boxes, self.working_regions.shape, self.height, self.width)

    @cached_property
    def probability(self) -> np.ndarray:
        """(H, W) float32 in [0, 1]: the DB network's text probability at the image's resolution."""
        return np.clip(resize_bilinear(self.working_probability, self.height, self.width), 0.0, 1.0)

    @property
    def share(self) -> float:
        """Fraction of the image's pixels inside text regions."""
        return float(self.regions.mean()) if self.regions.size else 0.0

    def summary(self) -> dict[str, Any]:
        return {"share": self.share, "boxes": [list(box) for box in self.boxes], "seconds": self.seconds}


def working_size(height: int, width: int, scale: float, max_side: int) -> tuple[int, int]:
    """(h, w) the network runs at: ``scale`` times the image, longer side <= ``max_side``, multiples of 32."""
    factor = min(scale, max_side / max(height, width))
    limit = max_side // STRIDE * STRIDE

    def side(length: int) -> int:
        return min(limit, max(STRIDE, round(length * factor / STRIDE) * STRIDE))

    return side(height), side(width)


class TextDetector:
    """PP-OCRv4's DB text detector run by onnxruntime on the CPU; the session is made once and reused."""

    name = "PP-OCRv4 det"

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        scale: float = DEFAULT_SCALE,
        max_side: int = DEFAULT_MAX_SIDE,
        threads: int | None = None,
        precision: str = "int8",
        tile_side: int = TILE_SIDE,
    ) -> None:
        """``model_path``: a DB detector ONNX file used as it is; None: the installed PP-OCRv4 detector,
        in ``precision`` (``"int8"``: quantised here once and cached, see ``quantized_model``)."""
        if not (math.isfinite(scale) and 0 < scale <= 4):
            raise OptionError(f"text detection scale must be in (0, 4], got {scale}")
        if max_side < STRIDE:
            raise OptionError(f"text detection max_side must be at least {STRIDE}, got {max_side}")
        if precision not in PRECISIONS:
            raise OptionError(f"text detection precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        if model_path is not None:
            self.path = Path(model_path)
        else:
            source = model_file(DETECTOR_FILE)
            self.path = quantized_model(source) if precision == "int8" else source
        self.scale = scale
        self.max_side = max_side
        if tile_side % STRIDE or tile_side < 2 * TILE_OVERLAP:
            raise OptionError(f"text detection tile_side must be a multiple of {STRIDE} of at least {2 * TILE_OVERLAP}, got {tile_side}")
        self.tile_side = tile_side
        if not self.path.is_file():
            raise OptionError(f"text detector model not found: {self.path}")
        # Idle threads sleep instead of spinning: beside other busy processes on 2 cores, spinning threads
        # doubled the wall time (measured: 114 vs 71 ms/MP); alone, the difference is small.
        self._session = open_session(self.path, threads, spinning=False)
        self._input = self._session.get_inputs()[0].name

    def __repr__(self) -> str:
        return f"TextDetector({fspath(self.path)!r}, scale={self.scale}, max_side={self.max_side})"

    def working_size(self, height: int, width: int) -> tuple[int, int]:
        """(h, w) the network runs at: ``scale`` times the image, longer side <= ``max_side``, multiples of 32."""
        return working_size(height, width, self.scale, self.max_side)

    def detect(self, pixels: np.ndarray) -> TextDetection:
        """Text regions of uint8 pixels (HxWx3 RGB or HxW grey) of any size."""
        started = time.perf_counter()
        rgb = as_rgb(pixels, "text detection")
        height, width = rgb.shape[:2]
        size = self.working_size(height, width)
        probability = self._probability(rgb, size)
        regions, boxes = text_lines(probability)
        detection = TextDetection(probability, regions, boxes, height, width)
        detection.seconds = time.perf_counter() - started
        return detection

    def _probability(self, rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """The network's text probability at ``size``; a working image with a side over ``tile_side`` runs
        as overlapping tiles, each keeping the part nearer its own centre than its neighbours'."""
        if max(size) <= self.tile_side:
            return self._run(_network_input(rgb, size))
        working = rgb if rgb.shape[:2] == size else _resize(rgb, size, Image.Resampling.BILINEAR)
        probability = np.empty(size, np.float32)
        for rows, tile_rows in _tiles(size[0], self.tile_side):
            for cols, tile_cols in _tiles(size[1], self.tile_side):
                tile = self._run(_network_input(np.ascontiguousarray(working[tile_rows, tile_cols]), (
                    tile_rows.stop - tile_rows.start, tile_cols.stop - tile_cols.start)))
                probability[rows, cols] = tile[rows.start - tile_rows.start : rows.stop - tile_rows.start,
                                               cols.start - tile_cols.start : cols.stop - tile_cols.start]
        return probability

    def _run(self, tensor: np.ndarray) -> np.ndarray:
        try:
            (output,) = self._session.run(None, {self._input: tensor})
        except Exception as error:  # onnxruntime raises its own types
            raise InputError(f"{self.path.name}: the text detector failed on a {tensor.shape} input ({error})") from error
        return np.ascontiguousarray(output[0, 0], dtype=np.float32)


def _tiles(length: int, tile: int) -> list[tuple[slice, slice]]:
    """(kept, run) slices along one side of ``length``: tiles of ``tile`` (a multiple of 32) overlapping by at
    least TILE_OVERLAP; each keeps up to the middle of its overlaps, so every kept pixel has at least half
    the overlap of context on each inner side."""
    count = max(1, math.ceil((length - TILE_OVERLAP) / (tile - TILE_OVERLAP)))
    # The fewest tiles of at most ``tile``, each as short as they allow: less overlap to run twice.
    tile = min(tile, math.ceil((length + (count - 1) * TILE_OVERLAP) / count / STRIDE) * STRIDE)
    starts = tile_starts(length, tile, TILE_OVERLAP)
    cuts = [0, *((start + tile + following) // 2 for start, following in zip(starts, starts[1:])), length]
    return [(slice(cuts[i], cuts[i + 1]), slice(start, min(length, start + tile))) for i, start in enumerate(starts)]


# PP-OCR's det normalisation, x / 255 with mean 0.5 and std 0.5, as a table of the 256 byte values.
_NORMALISED = np.arange(256, dtype=np.float32) * np.float32(2 / 255) - np.float32(1)


def _network_input(
    rgb: np.ndarray, size: tuple[int, int], resample: Image.Resampling = Image.Resampling.BILINEAR
) -> np.ndarray:
    """RGB uint8 pixels as the DB network takes them, at ``size`` (h, w): BGR planes (the models were
    trained on OpenCV-loaded images), normalised, NCHW."""
    # Bilinear: bicubic costs 4.5 ms/MP more and found 275 of 288 lines of the earlier benchmark (plates on
    # scikit-image photos) against 274 with the int8 detector at 0.7 (float32 at 0.6: 90 of 96 against 87).
    resized = rgb if rgb.shape[:2] == size else _resize(rgb, size, resample)
    tensor = np.empty((1, 3, *resized.shape[:2]), np.float32)
    for plane, channel in enumerate((2, 1, 0)):
        np.take(_NORMALISED, resized[..., channel], out=tensor[0, plane])
    return tensor


def _resize(rgb: np.ndarray, size: tuple[int, int], resample: Image.Resampling) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).resize((size[1], size[0]), resample))


def text_regions(
    probability: np.ndarray,
    *,
    threshold: float = PROBABILITY_THRESHOLD,
    score_threshold: float = SCORE_THRESHOLD,
    unclip_ratio: float = UNCLIP_RATIO,
) -> np.ndarray:
    """DB post-processing on a probability map: the text lines' full extent, as a bool map of its size.

    As PP-OCR: pixels above ``threshold`` (dilated by a 2x2 square) form line cores; a core whose mean
    probability is below ``score_threshold`` or that is thinner than 3 pixels is dropped; every other
    core grows by ``area * unclip_ratio / perimeter``. PP-OCR measures area and perimeter on the core's
    minimum-area rectangle and grows the polygon with pyclipper; here they are the core's pixel count
    and boundary-pixel count, and the growth is a Euclidean distance transform inside a window around
    the core: the same line boxes for straight lines, with numpy and scipy only.
    """
    return text_lines(probability, threshold=threshold, score_threshold=score_threshold,
                      unclip_ratio=unclip_ratio)[0]


def text_lines(
    probability: np.ndarray,
    *,
    threshold: float = PROBABILITY_THRESHOLD,
    score_threshold: float = SCORE_THRESHOLD,
    unclip_ratio: float = UNCLIP_RATIO,
) -> tuple[np.ndarray, list[Box]]:
    """``text_regions`` and each line's bounding box (grown as its region; on the probability's grid).

    Boxes are per line, not per connected region: two lines whose grown regions touch stay two boxes.
    """
    from scipy import ndimage  # loaded with the first detection: the CLI reads DEFAULT_SCALE for its --help

    # Dilation by a 2x2 square (scipy's binary_dilation with np.ones((2, 2)), 6x faster by shifts).
    above = probability > threshold
    cores = above.copy()
    cores[:-1, :] |= above[1:, :]
    cores[:, :-1] |= above[:, 1:]
    cores[:-1, :-1] |= above[1:, 1:]
    labels, _ = ndimage.label(cores, structure=np.ones((3, 3), bool))
    regions = np.zeros(probability.shape, bool)
    boxes: list[Box] = []
    for number, (rows, cols) in enumerate(ndimage.find_objects(labels), start=1):
        core = labels[rows, cols] == number
        area = int(core.sum())
        perimeter = int((core & ~ndimage.binary_erosion(core, border_value=0)).sum())
        if 2 * area / perimeter < MIN_SIDE or probability[rows, cols][core].mean() < score_threshold:
            continue
        growth = area * unclip_ratio / perimeter
        reach = math.ceil(growth)
        top, left = max(0, rows.start - reach), max(0, cols.start - reach)
        window = (slice(top, min(labels.shape[0], rows.stop + reach)),
                  slice(left, min(labels.shape[1], cols.stop + reach)))
        line = ndimage.distance_transform_edt(labels[window] != number) <= growth
        regions[window] |= line
        (line_rows, line_cols), = ndimage.find_objects(line.astype(np.uint8))
        boxes.append((left + line_cols.start, top + line_rows.start, left + line_cols.stop, top + line_rows.stop))
    return regions, boxes


def _scale_boxes(boxes: list[Box], grid: tuple[int, int], height: int, width: int) -> list[Box]:
    """Boxes on a (rows, cols) grid scaled out to an image of ``height`` x ``width``, top to bottom."""
    scale_y, scale_x = height / grid[0], width / grid[1]
    scaled = [
        (max(0, math.floor(left * scale_x)), max(0, math.floor(top * scale_y)),
         min(width, math.ceil(right * scale_x)), min(height, math.ceil(bottom * scale_y)))
        for left, top, right, bottom in boxes
    ]
    return sorted(scaled, key=lambda box: (box[1], box[0]))


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
    built = quantize_int8(source.read_bytes(), _calibration_inputs(), opset=17)
    partial_file = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    partial_file.write_bytes(built)
    os.replace(partial_file, target)


def _calibration_inputs() -> list[dict[str, np.ndarray]]:
    from skimage import data

    inputs = []
    for name in _CALIBRATION_PICTURES:
        picture = getattr(data, name)()
        rgb = as_rgb(np.ascontiguousarray(picture[..., :3] if picture.ndim == 3 else picture), "text detection")
        # Bicubic here, though detection resizes bilinearly: the int8 detector calibrated on bicubic
        # inputs found 274 of 288 lines of the earlier benchmark at 0.7, on bilinear ones 263 (the sharper
        # inputs widen the activation ranges a little, and small text's strong responses clip less).
        inputs.append({"x": _network_input(rgb, working_size(*rgb.shape[:2], DEFAULT_SCALE, DEFAULT_MAX_SIDE), Image.Resampling.BICUBIC)})
    return inputs


def default_detector(scale: float | None = None, threads: int | None = None) -> TextDetector:
    """The installed PP-OCRv4 detector at ``scale`` (None: ``DEFAULT_SCALE``), loaded once per process."""
    return _loaded_detector(DEFAULT_SCALE if scale is None else float(scale), threads)


@functools.lru_cache(maxsize=4)
def _loaded_detector(scale: float, threads: int | None) -> TextDetector:
    return TextDetector(scale=scale, threads=threads)


def detector_for(
    use_text: bool, scale: float | None = None, threads: int | None = None, *, policy_scale: float | None = None
) -> TextDetector | None:
    """The detector at ``scale`` (None: the policy's ``text_scale``, given as ``policy_scale``, else
    ``DEFAULT_SCALE``) when text is on, loaded now so that a missing ``segpress[text]`` or a bad scale
    stops a run before any image; None when text is off, where a scale is a mistake (``OptionError``).
    For ``segpress compress``, ``segment`` and ``batch``."""
    if not use_text:
        if scale is not None:
            raise OptionError("--text-scale applies only with --text (or a policy that lists text)")
        return None
    return default_detector(policy_scale if scale is None else scale, threads)


def describe() -> str:
    """One line for ``segpress formats``: the detector's file, or how to install it."""
    try:
        path = model_file(DETECTOR_FILE)
    except OptionError:
        return f"not installed ({INSTALL_HINT})"
    return f"PP-OCRv4 det from {DISTRIBUTION} {metadata.version(DISTRIBUTION)} ({path}), run in int8"


# --- recognition (benchmarks and checks) -----------------------------------------------------------


def read_text(pixels: np.ndarray, boxes: list[Box]) -> list[str]:
    """The text PP-OCRv4's recogniser reads in each box of ``pixels`` (one line per box), in order.

    Uses the package's own recogniser (its resizing, normalisation and CTC decoding with the
    character list stored in the model), which imports OpenCV, pyclipper and Shapely.
    """
    rgb = as_rgb(pixels, "text detection")
    crops = []
    for left, top, right, bottom in boxes:
        crop = rgb[max(0, top) : bottom, max(0, left) : right]
        if crop.size == 0:
            raise InputError(f"box {(left, top, right, bottom)} holds no pixels of a {rgb.shape[1]}x{rgb.shape[0]} image")
        crops.append(np.ascontiguousarray(crop[..., ::-1]))  # the recogniser takes BGR, as OpenCV loads
    if not crops:
        return []
    results, _ = _recogniser()(crops)
    return [text for text, _score in results]


@functools.lru_cache(maxsize=1)
def _recogniser():
    path = model_file(RECOGNISER_FILE)
    try:
        from rapidocr_onnxruntime.ch_ppocr_rec import TextRecognizer
    except ImportError as error:
        raise OptionError(
            f"reading text needs {DISTRIBUTION} with its own dependencies ({error.name or error} is missing): "
            f"{INSTALL_HINT}"
        ) from None
    return TextRecognizer({
        "model_path": fspath(path), "rec_batch_num": 6, "rec_img_shape": [3, 48, 320],
        "use_cuda": False, "use_dml": False, "intra_op_num_threads": -1, "inter_op_num_threads": -1,
    })
