"""The uniform reference: the match behind the saving, and the fallback to the uniform file.

``match_uniform``: the saving segpress reports is "bytes of the region-adaptive file" against "bytes a
uniform encode of the same format needs for the same PSNR inside the important region". That uniform
size comes from a bisection over the integer quality (PSNR grows with quality), then a log-linear
interpolation of the size between the two qualities that bracket the target, so the figure does not
jump by whole quality steps.

``fallback_file``: the ground rule that segpress never hands out a file larger than the uniform encode
with the same PSNR inside. Without a size target, the encodes ``match_uniform`` made already decide it
(no encode more); with one, they decide too, and ``fit_uniform_size`` finds the uniform file of the
budget only when it wins (a few encodes).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .codecs import Codec, EncodeSettings, Metadata
from .codecs.base import UniformEncoder
from .metrics import psnr
from .ratecontrol import decode_like


@dataclass(frozen=True)
class UniformMatch:
    size: float  # bytes, interpolated between the bracketing qualities
    quality: float  # the (fractional) quality that reaches the target
    encodes: int  # how many qualities the search measured
    reached: bool  # False when even quality 100 stays below the target: size is then a lower bound
    # The smallest uniform file measured that reaches the target (whole quality ``ceil(quality)``), and
    # its PSNR over the region: what the fallback writes. None when nothing reached it.
    data: bytes | None = field(default=None, repr=False)
    data_quality: int | None = None
    data_psnr: float | None = None


@dataclass(frozen=True)
class UniformFit:
    """The uniform file with the best PSNR over a region within a byte budget (``fit_uniform_size``)."""

    data: bytes = field(repr=False)
    quality: int
    psnr_inside: float
    encodes: int


def match_uniform(
    codec: Codec,
    pixels: np.ndarray,
    region: np.ndarray,
    target_psnr: float,
    settings: EncodeSettings,
    metadata: Metadata = Metadata(),
    encode: UniformEncoder | None = None,
    draft: UniformEncoder | None = None,
) -> UniformMatch:
    """The smallest uniform encode whose PSNR over ``region`` reaches ``target_psnr``.

    ``encode``: another uniform encoder of the codec's format (``Codec.uniform_baselines``) instead of
    ``codec.encode_uniform``; ``codec`` still decodes. ``draft``: a faster encoder whose files decode to
    the same pixels as ``encode``'s (``Codec.uniform_drafts``): the search measures PSNR on its files and
    makes real files only at the two qualities that bracket the target (their sizes, and the fallback's file).
    """
    psnrs: dict[int, float] = {}
    files: dict[int, bytes] = {}
    encode_uniform = codec.encode_uniform if encode is None else encode

    def file(quality: int) -> bytes:
        if quality not in files:
            files[quality] = encode_uniform(pixels, quality, settings, metadata)
        return files[quality]

    def quality_psnr(quality: int) -> float:
        if quality not in psnrs:
            data = file(quality) if draft is None else draft(pixels, quality, settings, metadata)
            psnrs[quality] = psnr(pixels, decode_like(codec, data, pixels), region)
        return psnrs[quality]

    def measure(quality: int) -> tuple[int, float]:
        return len(file(quality)), quality_psnr(quality)

    start = round(settings.roi_quality)
    low, high = _bracket(lambda quality: quality_psnr(quality) >= target_psnr, start)
    if high == 101:
        return UniformMatch(float(measure(low)[0]), float(low), len(psnrs), reached=False)
    reaching = {"data": file(high), "data_quality": high, "data_psnr": psnrs[high]}
    if low == 0:
        return UniformMatch(float(measure(high)[0]), float(high), len(psnrs), reached=True, **reaching)
    (size_low, psnr_low), (size_high, psnr_high) = measure(low), measure(high)
    fraction = 1.0 if psnr_high == psnr_low else (target_psnr - psnr_low) / (psnr_high - psnr_low)
    fraction = min(max(fraction, 0.0), 1.0)
    size = math.exp(math.log(size_low) + fraction * (math.log(size_high) - math.log(size_low)))
    return UniformMatch(size, low + fraction, len(psnrs), reached=True, **reaching)


def fit_uniform_size(
    codec: Codec,
    pixels: np.ndarray,
    region: np.ndarray,
    target_bytes: int,
    settings: EncodeSettings,
    metadata: Metadata = Metadata(),
    start: int | None = None,
) -> UniformFit | None:
    """The uniform file of the highest whole quality that is at most ``target_bytes``, or None if even
    quality 1 is bigger. Galloping then bisection from ``start`` (default: halfway between ``settings``'
    roi and background qualities), 4-8 encodes; one decode, for the PSNR over ``region``."""
    files: dict[int, bytes] = {}

    def too_big(quality: int) -> bool:
        if quality not in files:
            files[quality] = codec.encode_uniform(pixels, quality, settings, metadata)
        return len(files[quality]) > target_bytes

    if start is None:
        start = round((settings.roi_quality + settings.bg_quality) / 2)
    low, _ = _bracket(too_big, start)
    if low == 0:
        return None
    data = files[low]
    return UniformFit(data, low, psnr(pixels, decode_like(codec, data, pixels), region), len(files))


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


def fallback_file(codec: Codec, pixels: np.ndarray, region: np.ndarray, adaptive_size: int,
                  adaptive_psnr: float, match: UniformMatch, target_bytes: int | None, settings: EncodeSettings,
                  metadata: Metadata) -> tuple[bytes, int] | None:
    """The uniform file (and its whole quality) to hand out instead of the adaptive one, or None to keep that.

    ``match``: the uniform encode with the adaptive file's PSNR inside. Without a size target: the
    smallest uniform file ``match`` measured that reaches that PSNR, when the adaptive file is not
    smaller than it; no encode more. (Within one quality step of the
    uniform curve the interpolated saving can be slightly negative while every uniform file that reaches
    the PSNR is bigger: the adaptive file is then kept, and the saving shows the small loss.) With a size target: the uniform file within the budget has the better PSNR
    inside exactly when that smallest reaching file fits the budget (PSNR and size grow with the
    quality), so the comparison decides without an encode, and only a fallback searches upwards from
    there for the uniform file of the highest quality within the budget (a few encodes).
    """
    if match.data is None or match.data_quality is None:
        return None
    if target_bytes is None:
        # Judged by the real file, not the interpolated size: between two whole qualities the adaptive
        # file can be above the interpolated size and still smaller than the uniform file that reaches its
        # PSNR (then no real uniform file beats it), and where file sizes are not monotone in the quality
        # (JPEG XL at a few KB) it can be below the interpolated size and still larger than that file.
        wins = len(match.data) <= adaptive_size
        return (match.data, match.data_quality) if wins else None
    if len(match.data) > target_bytes or not (match.data_psnr or 0.0) > adaptive_psnr:
        return None
    fit = fit_uniform_size(codec, pixels, region, target_bytes, settings, metadata, start=match.data_quality)
    return None if fit is None else (fit.data, fit.quality)
