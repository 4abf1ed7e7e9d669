"""Reading text in given boxes with PP-OCRv4's recogniser (benchmarks and checks); unlike detection it
imports the package's own code, which needs OpenCV, pyclipper and Shapely."""

from __future__ import annotations

import functools
from os import fspath

import numpy as np

from ..errors import InputError, OptionError
from ..segmenters.base import as_rgb
from .models import DISTRIBUTION, INSTALL_HINT, RECOGNISER_FILE, model_file
from .regions import Box


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
