"""int8 export of the segmenter: onnxruntime's static quantisation, calibrated on training images.

    float32 ONNX ─ quant_pre_process ─ quantize_static (QOperator, per-channel int8 weights,
                                                       uint8 activations, MinMax on calibration images) ─ int8 ONNX

On the 2-core machine the int8 network runs a 480x360 frame in about two thirds of the float32
time (13 against 20 ms, measured with onnxruntime 1.2x, 2 threads) and the file is a quarter of the
size; CamVid val mIoU, the MSRC val pixel accuracy and the agreement with the teachers on the
held-out photos each moved by less than a point (see the model card). Calibration images come from
the training data only (never a val or held-out image), fed exactly as ``OnnxSegmenter`` feeds
the network: longer side at most ``DEFAULT_MAX_SIDE``, padded by reflection to multiples of 16.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from segpress.datasets import READERS
from segpress.segmenters.base import resize_rgb
from segpress.segmenters.onnx import DEFAULT_MAX_SIDE, quantize_int8
from segpress.train.config import PHOTOS_FORMAT, TrainConfig
from segpress.train.data import normalise
from segpress.train.photos import read_taught_photos

CALIBRATION_IMAGES = 32  # half labelled frames, half taught photos when the config has photos
STRIDE = 16  # the network's output stride: working sizes are padded to multiples of it


def calibration_images(config: TrainConfig, count: int = CALIBRATION_IMAGES) -> list[np.ndarray]:
    """``count`` training images spread evenly over the config's training data (labelled, then photos)."""
    labelled = [spec for spec in config.train_data if spec.format != PHOTOS_FORMAT]
    photos = [spec for spec in config.train_data if spec.format == PHOTOS_FORMAT]
    pools: list[list[np.ndarray]] = [
        [sample.image for spec in labelled for sample in READERS[spec.format](**spec.options)]
    ]
    if photos and config.teach is not None:
        pools.append([photo.image for spec in photos for photo in read_taught_photos(config.teach, spec.options["split"])])
    share = -(-count // len(pools))
    return [image for pool in pools for image in _spread(pool, share)]


def network_input(pixels: np.ndarray, max_side: int = DEFAULT_MAX_SIDE) -> np.ndarray:
    """(1, 3, h, w) float32 as the segmenter feeds the network: scaled down, padded, normalised."""
    height, width = pixels.shape[:2]
    scale = min(1.0, max_side / max(height, width))
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    resized = resize_rgb(pixels, size)
    padded = np.pad(resized, ((0, -size[0] % STRIDE), (0, -size[1] % STRIDE), (0, 0)), mode="symmetric")
    return normalise(padded)[None]


def quantize(float_model: bytes, images: Sequence[np.ndarray]) -> bytes:
    """The int8 version of ``float_model`` (ONNX bytes), calibrated on ``images`` (uint8 HxWx3)."""
    return quantize_int8(float_model, ({"image": network_input(image)} for image in images))


def label_agreement(float_model: bytes, int8_model: bytes, images: Sequence[np.ndarray]) -> float:
    """Share of pixels whose most probable class is the same under both models, over ``images``."""
    import onnxruntime

    sessions = [onnxruntime.InferenceSession(m, providers=["CPUExecutionProvider"]) for m in (float_model, int8_model)]
    same = total = 0
    for image in images:
        tensor = network_input(image)
        float_labels, int8_labels = (s.run(None, {"image": tensor})[0][0].argmax(axis=0) for s in sessions)
        same += int((float_labels == int8_labels).sum())
        total += float_labels.size
    return same / max(total, 1)


def _spread(pool: Sequence[np.ndarray], count: int) -> list[np.ndarray]:
    if len(pool) <= count:
        return list(pool)
    return [pool[int(i)] for i in np.linspace(0, len(pool) - 1, count).round()]
