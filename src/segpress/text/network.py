"""What the DB network takes: the working size (a scale of the image, bounded, sides multiples of 32) and
the normalised BGR input tensor."""

from __future__ import annotations

import numpy as np
from PIL import Image

DEFAULT_SCALE = 0.75  # the shipped student's working resolution relative to the image (its JSON says the same)
DEFAULT_MAX_SIDE = 4096  # the working image's longer side at most: bounds time on huge images (a 16 MP photo keeps 0.75)
STRIDE = 32  # the DB network's input sides must be multiples of this


def working_size(height: int, width: int, scale: float, max_side: int) -> tuple[int, int]:
    """(h, w) the network runs at: ``scale`` times the image, longer side <= ``max_side``, multiples of 32."""
    factor = min(scale, max_side / max(height, width))
    limit = max_side // STRIDE * STRIDE

    def side(length: int) -> int:
        return min(limit, max(STRIDE, round(length * factor / STRIDE) * STRIDE))

    return side(height), side(width)


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
