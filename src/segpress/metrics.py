"""Quality and rate measures: PSNR over a region, bits per pixel, Bjøntegaard delta rate.

Region-adaptive coding is judged where it matters: every PSNR here can be restricted to a boolean
mask (the important region, or its complement, the background).
"""

from __future__ import annotations

import math

import numpy as np

# Values (pixels x channels) whose differences are squared at once in psnr: bounds its float32 temporaries to 1 MB.
_STRIP_VALUES = 1 << 18


def psnr(reference: np.ndarray, decoded: np.ndarray, mask: np.ndarray | None = None) -> float:
    """PSNR in dB over all channels of the pixels where ``mask`` is true (8-bit peak).

    Returns ``nan`` for an empty mask and ``inf`` for identical pixels.
    """
    if reference.shape != decoded.shape:
        raise ValueError(f"shape mismatch: {reference.shape} vs {decoded.shape}")
    if mask is not None and mask.shape != reference.shape[: mask.ndim]:
        raise ValueError(f"mask shape {mask.shape} does not fit pixels of shape {reference.shape}")
    # Strips of rows: the differences of a whole 40-megapixel picture would take ~0.5 GB. Squared
    # differences summed over a pixel's channels are integers below 2**24, exact in float32; the pixels
    # are then picked by the mask (a third of the values an RGB mask gather moves) and summed in float64.
    per_pixel = reference.ndim == 3 and (mask is None or mask.ndim == 2)
    channels = reference.shape[2] if per_pixel else 1
    total, count = 0.0, 0
    rows = max(1, _STRIP_VALUES // max(1, reference[:1].size))
    for top in range(0, reference.shape[0], rows):
        strip = slice(top, top + rows)
        difference = reference[strip].astype(np.float32)
        difference -= decoded[strip]
        squared = np.einsum("ijk,ijk->ij", difference, difference) if per_pixel else difference * difference
        if mask is not None:
            squared = squared[mask[strip]]
        count += squared.size * channels
        total += float(squared.sum(dtype=np.float64))
    if count == 0:
        return math.nan
    mse = total / count
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def bits_per_pixel(size: int, height: int, width: int) -> float:
    return 8.0 * size / (height * width)


def bd_rate(
    rate_reference: list[float],
    quality_reference: list[float],
    rate_test: list[float],
    quality_test: list[float],
) -> float:
    """Bjøntegaard delta rate in percent (negative: the test codec needs fewer bits).

    Classic VCEG-M33 method: a cubic polynomial of log-rate as a function of quality for each curve,
    integrated over the quality interval both curves cover. Needs at least four points per curve.
    """
    if min(len(rate_reference), len(rate_test)) < 4:
        raise ValueError("BD-rate needs at least four rate points per curve")
    log_ref, log_test = np.log(rate_reference), np.log(rate_test)
    fit_ref = np.polyfit(quality_reference, log_ref, 3)
    fit_test = np.polyfit(quality_test, log_test, 3)
    low = max(min(quality_reference), min(quality_test))
    high = min(max(quality_reference), max(quality_test))
    if high <= low:
        raise ValueError("the two curves do not overlap in quality")
    integral_ref = np.polyval(np.polyint(fit_ref), high) - np.polyval(np.polyint(fit_ref), low)
    integral_test = np.polyval(np.polyint(fit_test), high) - np.polyval(np.polyint(fit_test), low)
    mean_difference = (integral_test - integral_ref) / (high - low)
    return float((math.exp(mean_difference) - 1.0) * 100.0)
