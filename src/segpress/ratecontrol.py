"""Searches over an encoder's quality: here, the uniform encode that matches a quality target.

The saving segpress reports is "bytes of the region-adaptive file" against "bytes a uniform encode of
the same format needs for the same PSNR inside the important region". That uniform size comes from a
bisection over the integer quality (PSNR grows with quality), then a log-linear interpolation of the
size between the two qualities that bracket the target, so the figure does not jump by whole quality
steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .codecs import Codec, EncodeSettings, Metadata
from .metrics import psnr


@dataclass(frozen=True)
class UniformMatch:
    size: float  # bytes, interpolated between the bracketing qualities
    quality: float  # the (fractional) quality that reaches the target
    encodes: int  # how many encodes the search took
    reached: bool  # False when even quality 100 stays below the target: size is then a lower bound


def match_uniform(
    codec: Codec,
    pixels: np.ndarray,
    region: np.ndarray,
    target_psnr: float,
    settings: EncodeSettings,
    metadata: Metadata = Metadata(),
) -> UniformMatch:
    """The smallest uniform encode whose PSNR over ``region`` reaches ``target_psnr``."""
    measured: dict[int, tuple[int, float]] = {}

    def measure(quality: int) -> tuple[int, float]:
        if quality not in measured:
            data = codec.encode_uniform(pixels, quality, settings, metadata)
            measured[quality] = (len(data), psnr(pixels, codec.decode(data), region))
        return measured[quality]

    low, high = _bracket(lambda quality: measure(quality)[1] >= target_psnr, settings.roi_quality)
    if low == 0:
        return UniformMatch(float(measure(high)[0]), float(high), len(measured), reached=True)
    if high == 101:
        return UniformMatch(float(measure(low)[0]), float(low), len(measured), reached=False)
    (size_low, psnr_low), (size_high, psnr_high) = measure(low), measure(high)
    fraction = 1.0 if psnr_high == psnr_low else (target_psnr - psnr_low) / (psnr_high - psnr_low)
    fraction = min(max(fraction, 0.0), 1.0)
    size = math.exp(math.log(size_low) + fraction * (math.log(size_high) - math.log(size_low)))
    return UniformMatch(size, low + fraction, len(measured), reached=True)


def _bracket(reaches: Callable[[int], bool], start: int) -> tuple[int, int]:
    """Adjacent qualities (low, high) with ``reaches(high)`` and not ``reaches(low)``.

    Gallops away from ``start`` (usually the answer is within a step or two of the ROI quality),
    then bisects. ``low == 0`` means quality 1 already reaches; ``high == 101`` that 100 does not.
    """
    start = min(max(start, 1), 100)
    if reaches(start):
        low, high, step = start, start, 1
        while low > 1:
            low = max(high - step, 1)
            if not reaches(low):
                break
            high, step = low, step * 2
        else:
            return 0, 1
    else:
        low, high, step = start, start, 1
        while high < 100:
            high = min(low + step, 100)
            if reaches(high):
                break
            low, step = high, step * 2
        else:
            return 100, 101
    while high - low > 1:
        middle = (low + high) // 2
        if reaches(middle):
            high = middle
        else:
            low = middle
    return low, high
