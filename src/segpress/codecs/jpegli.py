"""jpegli, Google's JPEG encoder (PyPI ``pyjpegli``, BSD-3), as the uniform encode under the JPEG codec.

jpegli writes ordinary baseline JPEGs (YCbCr 4:2:0, its own quantisation tables and its own adaptive
zeroing inside them; Huffman tables about 4 % bigger than fitted ones, so segpress re-writes them) that
every decoder reads and ``jpeglib`` reads as coefficients.
``pyjpegli`` takes packed RGB and a quality only: greyscale pictures and 4:4:4 are left to
libjpeg-turbo (``supports``).

The region-adaptive JPEG keeps the table of the roi quality and re-quantises less important blocks to
coarser steps (``jpeg_quant.requantize``); with jpegli underneath, those steps come from jpegli's own
tables (``tables``, read back from tiny jpegli files once per process: they depend on the quality only,
not on the picture). Which of them a background quality gets is calibrated (``background_tables``):
jpegli's tables are finer than libjpeg's at the same quality (mean luma step 58 against 115 at
quality 25) because jpegli also zeroes coefficients adaptively, which a re-quantised block does not
get. So background quality q takes the shape of jpegli's table scaled to libjpeg's mean step over the
3x3 lowest frequencies at q, and ``--bg-quality`` keeps its meaning (the PSNR outside the region)
whichever encoder is underneath. Measured on 15 CamVid val frames (benchmarks/jpeg_roi.py's sweep,
BD-rate on PSNR inside against uniform jpegli, mean PSNR outside at roi 80): jpegli's own table at q
-41 % at 28.9 dB; matched on the mean step of all 64 frequencies -55 % at 26.0 dB (jpegli's flatter
tables then coarsen the low frequencies that dominate the error); on the 3x3 lowest -46 % at 28.0 dB;
libjpeg-turbo underneath -44 % at 27.9 dB.

``pyjpegli`` is optional (the ``jpegli`` extra): without it the codec falls back to libjpeg-turbo.
"""

from __future__ import annotations

import functools
import io

import numpy as np
from PIL import Image

from .jpeg_quant import ijg_tables

try:
    import pyjpegli
except ImportError:  # the jpegli extra is not installed: libjpeg-turbo encodes instead
    pyjpegli = None

SUBSAMPLING = "4:2:0"  # the only one pyjpegli writes
INSTALL_HINT = "pip install 'segpress[jpegli]'"


def available() -> bool:
    return pyjpegli is not None


def version() -> str:
    return f"jpegli (pyjpegli {pyjpegli.__version__})" if pyjpegli is not None else "jpegli not installed"


def supports(pixels: np.ndarray, subsampling: str) -> bool:
    """Whether jpegli can write this picture as asked: installed, RGB, 4:2:0."""
    return available() and pixels.ndim == 3 and pixels.shape[2] == 3 and subsampling == SUBSAMPLING


def encode(pixels: np.ndarray, quality: int) -> bytes:
    """A uniform jpegli encode of RGB ``pixels`` (uint8 HxWx3) at ``quality`` (1..100)."""
    if pyjpegli is None:
        raise RuntimeError(f"jpegli is not installed ({INSTALL_HINT})")
    height, width = pixels.shape[:2]
    return pyjpegli.encode(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes(), width, height, int(quality))


@functools.cache
def tables() -> dict[str, np.ndarray]:
    """jpegli's luma and chroma tables for qualities 0..100 (row 0 unused), each (101, 8, 8) float32.

    Natural (row-major) order, as Pillow's ``quantization`` and jpeglib's ``qt`` give them.
    """
    stacks = {"luma": np.ones((101, 8, 8), np.float32), "chroma": np.ones((101, 8, 8), np.float32)}
    tiny = np.zeros((16, 16, 3), np.uint8)
    for quality in range(1, 101):
        with Image.open(io.BytesIO(encode(tiny, quality))) as image:
            stacks["luma"][quality] = np.reshape(image.quantization[0], (8, 8))
            stacks["chroma"][quality] = np.reshape(image.quantization[1], (8, 8))
    return stacks


@functools.cache
def background_tables() -> dict[str, np.ndarray]:
    """Steps per background quality, by kind: jpegli's table whose low-frequency step is nearest
    libjpeg's at that quality, scaled to exactly libjpeg's. Each (101, 8, 8) float32, row 0 unused."""
    calibrated = {}
    for kind, own in tables().items():
        own_steps = _low_frequency_step(own[1:])
        targets = ijg_tables(kind)
        stack = np.ones((101, 8, 8), np.float32)
        for quality in range(1, 101):
            target = float(_low_frequency_step(targets[quality]))
            nearest = own[1 + int(np.argmin(np.abs(own_steps - target)))]
            stack[quality] = nearest * (target / float(_low_frequency_step(nearest)))
        calibrated[kind] = stack
    return calibrated



def _low_frequency_step(table: np.ndarray) -> np.ndarray:
    """Mean step of the 3x3 lowest frequencies: what most of a block's error (its PSNR) comes from."""
    return table[..., :3, :3].mean(axis=(-2, -1))
