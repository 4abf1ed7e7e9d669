"""Running an ONNX segmentation network with onnxruntime on the CPU.

Per image::

    pixels HxW(x3) ─ resize (longer side <= max_side, aspect kept) ─ pad by reflection to multiples of
        the stride ─ (x/255 - mean) / std ─ NCHW float32 ─ onnxruntime ─ logits ─ softmax ─ crop the padding
        ─ class mapping ─ working probabilities (C, h, w) ─ Segmentation (resampled to HxW on demand)

Padding instead of stretching to a multiple of the stride keeps the aspect exact and leaves an image
already at its working size (a 480x360 CamVid frame) unresampled.

Images whose working size is the same are stacked into one batch. When the working image has more
than ``tile_pixels`` pixels (``max_side`` raised, or None) it runs as overlapping tiles, blended with
linear ramps across each overlap, so memory stays bounded whatever the image size. Tiles lose some
global context (the LR-ASPP head pools over its whole input), so labels near tile seams can differ a
little from an untiled run.

onnxruntime is imported when the first segmenter is built, so ``import segpress`` stays fast.
"""

from __future__ import annotations

import contextlib
import logging
import math
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from os import PathLike, fspath
from pathlib import Path

import numpy as np

from segpress.errors import InputError, OptionError
from segpress.taxonomy import CLASSES

from .base import Segmentation, Segmenter, as_rgb, resize_bilinear, resize_rgb

# The working image's longer side, unless the model's metadata says otherwise (input.max_side). 480 is
# the CamVid frame width: the scale the shipped model trained around (crops of 480x360 frames scaled
# 0.5-2x) and was validated at. Larger is not better: objects then outgrow the network's receptive
# field. On the motorcycle of skimage's stereo_motorcycle (741x500), the 2-epoch smoke model labelled
# 95 % of the subject bicycle or vehicle at 384, 87 % at 480 and 78 % at 640.
DEFAULT_MAX_SIDE = 480
DEFAULT_TILE_PIXELS = 1024 * 1024
DEFAULT_OVERLAP = 64
DEFAULT_BATCH_SIZE = 4
_PROBE_SIDE = 64  # size of the test input run once when a model is loaded


@dataclass(frozen=True)
class ModelConfig:
    """How to feed a network and read its output. Lengths are in working-image pixels.

    Args:
        name: shown in results as ``model:<name>``.
        classes: the network's output channels, in order.
        mapping: network class -> taxonomy class; classes left out are ignored (their probability
            becomes ``Segmentation.unknown``, which policies weigh with their default).
        mean, std: per-channel RGB normalisation of pixel / 255.
        max_side: the working image's longer side at most this (aspect kept); None keeps the size
            (then tiling bounds the network's memory, but the working probabilities still take
            4 bytes per class per pixel).
        input_size: (height, width) for networks with a fixed input: every image is resized to it.
        stride: the network's input is padded to multiples of it (its output stride).
        tile_pixels: larger working images run as tiles of at most this many pixels (the network's
            activations take a few hundred bytes per input pixel).
        overlap: overlap between tiles.
        batch_size: images (or tiles) per network run, also capped by ``tile_pixels``.
        outputs: "logits" (softmax applied here) or "probabilities" (used as given).
    """

    name: str
    classes: tuple[str, ...]
    mapping: Mapping[str, str]
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    max_side: int | None = DEFAULT_MAX_SIDE
    input_size: tuple[int, int] | None = None
    stride: int = 16
    tile_pixels: int = DEFAULT_TILE_PIXELS
    overlap: int = DEFAULT_OVERLAP
    batch_size: int = DEFAULT_BATCH_SIZE
    outputs: str = "logits"
    source: str = field(default="", compare=False)  # the file it was read from, for messages

    def __post_init__(self) -> None:
        where = f"{self.source}: " if self.source else ""

        def fail(message: str) -> None:
            raise OptionError(where + message)

        if not self.classes or len(set(self.classes)) != len(self.classes):
            fail("'classes' must be a non-empty list of distinct names")
        for source, target in self.mapping.items():
            if source not in self.classes:
                fail(f"mapping names class {source!r}, which is not in 'classes'")
            if target not in CLASSES:
                fail(f"mapping target {target!r} is not a taxonomy class; valid: {', '.join(CLASSES)}")
        if not self.mapping:
            fail("no class maps to a taxonomy class: add a 'mapping' table (model class = taxonomy class)")
        for key in ("mean", "std"):
            values = getattr(self, key)
            if len(values) != 3 or not all(math.isfinite(v) for v in values):
                fail(f"'{key}' must be three numbers (R, G, B)")
        if min(self.std) <= 0:
            fail("'std' values must be positive")
        if self.outputs not in ("logits", "probabilities"):
            fail(f"'outputs' must be \"logits\" or \"probabilities\", got {self.outputs!r}")
        for key in ("stride", "tile_pixels", "batch_size"):
            if getattr(self, key) < 1:
                fail(f"'{key}' must be at least 1")
        if self.overlap < 0:
            fail("'overlap' must not be negative")
        if self.max_side is not None and self.max_side < self.stride:
            fail(f"'max_side' must be at least the stride ({self.stride})")
        if self.input_size is not None and (len(self.input_size) != 2 or min(self.input_size) < 1):
            fail("'input_size' must be [height, width]")
        if self.tile_pixels < (2 * self.stride) ** 2:
            fail(f"'tile_pixels' must be at least {(2 * self.stride) ** 2}")

    def working_size(self, height: int, width: int) -> tuple[int, int]:
        """The (height, width) an image is resized to before padding: longer side at most ``max_side``."""
        if self.input_size is not None:
            return self.input_size
        scale = 1.0 if self.max_side is None else min(1.0, self.max_side / max(height, width))
        return tuple(max(1, min(side, round(side * scale))) for side in (height, width))


class OnnxSegmenter(Segmenter):
    """A segmentation network in an ONNX file, run by onnxruntime on the CPU.

    The session is created once (with ``threads`` intra-op threads; None = onnxruntime's choice,
    one per physical core) and reused; :meth:`segment_batch` may be called from several threads.
    """

    def __init__(self, model_path: str | PathLike[str], config: ModelConfig, *, threads: int | None = None) -> None:
        self.path = Path(model_path)
        self.config = config
        self.name = config.name
        self._session = open_session(self.path, threads)
        inputs, outputs = self._session.get_inputs(), self._session.get_outputs()
        if len(inputs) != 1:
            raise InputError(f"{self.path}: the model takes {len(inputs)} inputs; segpress feeds one image tensor")
        self._input = inputs[0].name
        self._output = outputs[0].name
        self._fixed_batch, fixed_size = _static_dims(inputs[0].shape, self.path)
        if fixed_size is not None and config.input_size is None:
            config = replace(config, input_size=fixed_size)
            self.config = config
        self._scale = (1 / (255 * np.asarray(config.std, np.float32))).reshape(1, 3, 1, 1)
        self._offset = (-np.asarray(config.mean, np.float32) / np.asarray(config.std, np.float32)).reshape(1, 3, 1, 1)
        self._mapping, self._complete = _mapping_matrix(config)
        self._probe()

    def __repr__(self) -> str:
        return f"OnnxSegmenter({fspath(self.path)!r}, name={self.name!r})"

    def segment_batch(self, images: Sequence[np.ndarray]) -> list[Segmentation]:
        """Segment ``images`` (uint8 HxWx3 or HxW each); images of the same working size share runs."""
        started = time.perf_counter()
        prepared = [as_rgb(image) for image in images]
        working: list[np.ndarray | None] = [None] * len(prepared)
        groups: dict[tuple[int, int], list[int]] = {}
        for index, pixels in enumerate(prepared):
            size = self.config.working_size(*pixels.shape[:2])
            if size[0] * size[1] > self.config.tile_pixels and self.config.input_size is None:
                working[index] = self._run_tiled(self._fit(pixels, size))[:, : size[0], : size[1]]
            else:
                groups.setdefault(size, []).append(index)
        for size, members in groups.items():
            for chunk in _chunks(members, self._per_run(size)):
                batch = np.stack([self._fit(prepared[i], size) for i in chunk])
                for i, probabilities in zip(chunk, self._run(batch), strict=True):
                    working[i] = probabilities[:, : size[0], : size[1]]
        seconds = (time.perf_counter() - started) / max(1, len(images))
        return [self._segmentation(p, image, seconds) for p, image in zip(working, prepared, strict=True)]

    # --- internals --------------------------------------------------------------------------------

    def _fit(self, pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """Resized to ``size``, then padded (bottom and right, by reflection) to multiples of the stride."""
        resized = resize_rgb(pixels, size)
        if self.config.input_size is not None:
            return resized
        step = self.config.stride
        pad = (-size[0] % step, -size[1] % step)
        if not any(pad):
            return resized
        return np.pad(resized, ((0, pad[0]), (0, pad[1]), (0, 0)), mode="symmetric")

    def _per_run(self, size: tuple[int, int]) -> int:
        limit = max(1, self.config.tile_pixels // (size[0] * size[1]))
        return min(self.config.batch_size, limit, self._fixed_batch or limit)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        """uint8 (N, h, w, 3) -> model-class probabilities (N, K, h, w) float32."""
        tensor = np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32)
        tensor *= self._scale
        tensor += self._offset
        try:
            (scores,) = self._session.run([self._output], {self._input: tensor})
        except Exception as error:  # onnxruntime raises its own types for shape and runtime errors
            raise InputError(
                f"{self.path}: the model failed on a {tensor.shape} input ({_first_line(error)})"
            ) from error
        if scores.ndim != 4 or scores.shape[:2] != (len(batch), len(self.config.classes)):
            raise InputError(
                f"{self.path}: the model gives output of shape {scores.shape}; expected "
                f"({len(batch)}, {len(self.config.classes)}, H, W) for the {len(self.config.classes)} classes"
                " of its config"
            )
        if scores.shape[2:] != batch.shape[1:3]:  # a network that answers at a lower resolution
            scores = resize_bilinear(scores, *batch.shape[1:3])
        scores = scores.astype(np.float32, copy=False)
        return _softmax(scores) if self.config.outputs == "logits" else scores

    def _run_tiled(self, pixels: np.ndarray) -> np.ndarray:
        """Overlapping tiles of the working image, run in batches and blended."""
        height, width = pixels.shape[:2]
        tile_height, tile_width = _tile_size(height, width, self.config)
        overlap = min(self.config.overlap, tile_height // 2, tile_width // 2)
        tops = tile_starts(height, tile_height, overlap)
        lefts = tile_starts(width, tile_width, overlap)
        places = [(top, left) for top in tops for left in lefts]
        total = np.zeros((len(self.config.classes), height, width), np.float32)
        weights = np.zeros((height, width), np.float32)
        for chunk in _chunks(places, self._per_run((tile_height, tile_width))):
            batch = np.stack([pixels[top : top + tile_height, left : left + tile_width] for top, left in chunk])
            for (top, left), probabilities in zip(chunk, self._run(batch), strict=True):
                ramp = np.outer(
                    _ramp(tile_height, overlap, top > 0, top + tile_height < height),
                    _ramp(tile_width, overlap, left > 0, left + tile_width < width),
                )
                total[:, top : top + tile_height, left : left + tile_width] += probabilities * ramp
                weights[top : top + tile_height, left : left + tile_width] += ramp
        return total / weights

    def _segmentation(self, probabilities: np.ndarray, pixels: np.ndarray, seconds: float) -> Segmentation:
        if self._mapping is None:
            taxonomy, unknown = probabilities, None
        else:
            taxonomy = np.tensordot(self._mapping, probabilities, axes=1)
            unknown = None if self._complete else np.clip(1 - taxonomy.sum(axis=0), 0, 1)
        # A copy: the crop of a padded batch would keep the whole batch alive.
        return Segmentation(
            np.ascontiguousarray(taxonomy), pixels.shape[0], pixels.shape[1], model=self.name, seconds=seconds,
            unknown=unknown,
        )

    def _probe(self) -> None:
        """Run once on a small input, so a model that does not fit its config fails at load time."""
        side = _PROBE_SIDE if self.config.input_size is None else None
        size = self.config.input_size or (side, side)
        self._run(np.zeros((1, *size, 3), np.uint8))


def open_session(path: Path, threads: int | None, *, spinning: bool = True):
    """An onnxruntime CPU session for ``path``: ``threads`` intra-op threads (None: all cores), errors only
    logged; ``spinning=False`` lets idle threads sleep (for a model that runs beside other busy work)."""
    try:
        import onnxruntime
    except ImportError as error:  # a core dependency, but a broken install should say what is missing
        raise OptionError(f"running {path.name} needs onnxruntime: pip install onnxruntime") from error
    if not path.is_file():
        raise InputError(f"{path}: model file not found")
    if threads is not None and threads < 1:
        raise OptionError(f"threads must be at least 1, got {threads}")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or 0
    options.inter_op_num_threads = 1
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: onnxruntime's warnings are not the user's to fix
    try:
        return onnxruntime.InferenceSession(fspath(path), options, providers=["CPUExecutionProvider"])
    except Exception as error:  # InvalidProtobuf, Fail, NoSuchFile...: onnxruntime's own types
        raise InputError(f"{path}: not a usable ONNX model ({_first_line(error)})") from error


def _static_dims(shape: Sequence[object], path: Path) -> tuple[int | None, tuple[int, int] | None]:
    """Fixed batch size and fixed (height, width) of an NCHW input, where the model declares them."""
    if len(shape) != 4 or (isinstance(shape[1], int) and shape[1] != 3):
        raise InputError(f"{path}: the model's input has shape {list(shape)}; expected an N x 3 x H x W image")
    batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None
    height, width = shape[2], shape[3]
    fixed = (height, width) if all(isinstance(v, int) and v > 0 for v in (height, width)) else None
    return batch, fixed


def _mapping_matrix(config: ModelConfig) -> tuple[np.ndarray | None, bool]:
    """(taxonomy x model classes) 0/1 matrix summing mapped classes, or None for the taxonomy itself."""
    if tuple(config.classes) == CLASSES and all(config.mapping.get(c) == c for c in CLASSES):
        return None, True
    matrix = np.zeros((len(CLASSES), len(config.classes)), np.float32)
    for column, name in enumerate(config.classes):
        if name in config.mapping:
            matrix[CLASSES.index(config.mapping[name]), column] = 1
    return matrix, bool(matrix.sum(axis=0).all())


def quantize_int8(model: bytes, inputs: Iterable[dict[str, np.ndarray]], *, opset: int | None = None) -> bytes:
    """``model`` (ONNX bytes) in int8, calibrated on ``inputs`` (one feed dict per run): onnxruntime's
    static quantisation with fused int8 kernels (QOperator; QDQ ran no faster than float32 here),
    per-channel int8 weights with reduce_range, uint8 activations, MinMax ranges. ``opset`` first
    converts the model (QOperator with per-channel weights needs opset >= 13). Used for the shipped
    segmenter at export and the text detector on first use."""
    import onnx
    from onnx import version_converter
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    class Calibration(CalibrationDataReader):
        def __init__(self) -> None:
            self._inputs = iter(inputs)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._inputs, None)

    with tempfile.TemporaryDirectory(prefix="segpress-int8-") as scratch, quiet_quantization():
        source, prepared, built = (Path(scratch, name) for name in ("float.onnx", "prepared.onnx", "int8.onnx"))
        source.write_bytes(model)
        quant_pre_process(fspath(source), fspath(prepared), skip_symbolic_shape=True)
        if opset is not None:
            onnx.save(version_converter.convert_version(onnx.load(fspath(prepared)), opset), fspath(prepared))
        quantize_static(
            fspath(prepared), fspath(built), Calibration(), quant_format=QuantFormat.QOperator, per_channel=True,
            reduce_range=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
        )
        return built.read_bytes()


@contextlib.contextmanager
def quiet_quantization() -> Iterator[None]:
    """onnxruntime's quantisation tools warn through the root logger (advice meant for their users)."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


def _softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the class axis, in place (the array is onnxruntime's fresh output)."""
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    return logits


def _tile_size(height: int, width: int, config: ModelConfig) -> tuple[int, int]:
    """The largest tile of at most ``tile_pixels``, sides multiples of the stride, squarish."""
    step = config.stride
    side = max(2 * step, int(math.sqrt(config.tile_pixels)) // step * step)
    tile_height = min(height, side)
    tile_width = min(width, max(2 * step, config.tile_pixels // tile_height // step * step))
    return tile_height, tile_width


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Evenly spread tile offsets covering ``length``, neighbours overlapping by at least ``overlap``."""
    if tile >= length:
        return [0]
    count = math.ceil((length - overlap) / max(1, tile - overlap))
    count = max(count, 2)
    return [round(i * (length - tile) / (count - 1)) for i in range(count)]


def _ramp(length: int, overlap: int, ramp_start: bool, ramp_end: bool) -> np.ndarray:
    """Blending weights along a tile: rising over ``overlap`` pixels on sides that meet a neighbour."""
    weights = np.ones(length, np.float32)
    if overlap == 0:
        return weights
    rise = (np.arange(length, dtype=np.float32) + 0.5) / overlap
    if ramp_start:
        weights = np.minimum(weights, rise)
    if ramp_end:
        weights = np.minimum(weights, rise[::-1])
    return weights


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _first_line(error: BaseException) -> str:
    text = " ".join(str(error).split("\n")[0].split())
    return text[:300] or type(error).__name__
