"""Searches over an encoder's qualities for a target: the rate control.

``fit_size`` and ``fit_roi_psnr``: the region-adaptive file for a byte budget (``--target-size``) or
for a PSNR inside the important region (``--target-roi-psnr``), in at most ``MAX_ENCODES`` encodes
each. Both search one quality at a time on the codec's grid (``Codec.roi_quality_step`` /
``bg_quality_step``: whole numbers for JPEG, fractions where the encoder takes them): a first step
sized by a typical slope, doubling until the target is bracketed, then inverse quadratic / regula falsi
steps between the bracketing encodes (``_search``), all on a log-quantiser-scale coordinate::

    size budget:  too big   -> background quality down to 1, then roi quality down (background at 1),
                               then leftover bytes back to the background
                  too small -> roi quality up to 100, then background quality up
    PSNR target:  roi quality only (background as given): smallest quality that reaches it

Sizes are in bytes; ``parse_size`` reads ``40KB`` as 40,000 bytes (KB, MB, GB decimal; KiB, MiB, GiB binary).

Measured by ``benchmarks/pixel_codecs.py`` from the defaults, on 11 CamVid val frames and one
scikit-image photo, budgets 0.5, 0.8, 1.25 and 2x the default file (48 per codec): never over the
target; within 3 % for all 48 with JPEG, WebP, AVIF and JPEG 2000, 47 with the JPEG XL transcode (a
whole-quality step of JPEG's background) and 39 with JPEG XL from pixels: at 2x, libjxl's file jumps by
about 13 % between qualities 95.52 and 95.56 (distance 0.5), the roi search spends its encodes closing
in on that jump and the one left for the background does not land (7-12 % under). 4.0-5.1 encodes on
average, 8 at most. PSNR targets 33 and 38 dB: all 24 reached per codec, 0.01-0.22 dB over on average,
3.5-5 encodes on average, 8 at most.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image

from .codecs import Codec, EncodeSettings, Metadata
from .codecs.jpeg_quant import jpeg_scale
from .errors import OptionError
from .metrics import psnr

MAX_ENCODES = 8
SIZE_TOLERANCE = 0.03  # a size target is met when the file is at most 3 % under it (never over)
PSNR_TOLERANCE = 0.1  # dB: a PSNR target is met at most this far above it (or on adjacent qualities)
_LOWEST, _HIGHEST = 1, 100
# On a continuous grid, brackets closer than this (in _coordinate units: 0.2 quality near 90, 0.04 near
# 2) are not worth an encode; encoders quantise their own parameters (libwebp's quantiser moves in
# steps of 0.3-0.8 quality near 97).
_CONTINUOUS_RESOLUTION = 0.02
_SCALE_OFFSET = 0.1  # see _coordinate
# Typical slope of PSNR against the search coordinate (see _coordinate): libjpeg's PSNR falls by about
# 8 dB per decade of quantiser scale, i.e. 3.5 dB per unit of ln(scale). Sizes the first PSNR step.
_DB_PER_COORDINATE = 3.5
# Typical slopes of ln(size) against the coordinate, for the first step of a size search: the roi
# quality moves the whole file, the background quality only the background's share.
_SIZE_PER_ROI = 0.7
_SIZE_PER_BG = 0.2
_PSNR_CEILING = 100.0  # dB: stands in for an infinite PSNR (a lossless region) in the search
# KB and MB are decimal (1000, 1000^2 bytes), as disks and browsers count; KiB and MiB binary.
_SIZE_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2, "mib": 1024**2,
               "g": 1000**3, "gb": 1000**3, "gib": 1024**3}
_SIZE_PATTERN = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class RateResult:
    """The file rate control settled on, what it achieved and what it cost."""

    data: bytes = field(repr=False)
    settings: EncodeSettings  # the chosen qualities (fractional where the codec takes fractions)
    size: int
    psnr_inside: float
    encodes: int
    target: float  # bytes for fit_size, dB for fit_roi_psnr
    reached: bool  # size within SIZE_TOLERANCE under the target / PSNR within PSNR_TOLERANCE above it
    note: str = ""  # why not, when the target was not reached

    @property
    def roi_quality(self) -> float:
        return self.settings.roi_quality

    @property
    def bg_quality(self) -> float:
        return self.settings.bg_quality


def decode_like(codec: Codec, data: bytes, pixels: np.ndarray) -> np.ndarray:
    """``codec.decode(data)`` laid out like ``pixels``: a format without a grey mode (WebP) gives a grey
    picture back as RGB, which is turned back into grey here so the two can be compared."""
    decoded = codec.decode(data)
    if pixels.ndim == 2 and decoded.ndim == 3:
        decoded = np.asarray(Image.fromarray(np.ascontiguousarray(decoded[..., :3])).convert("L"))
    return decoded


# --- sizes -------------------------------------------------------------------------------------------


def parse_size(text: str | int) -> int:
    """Bytes from ``40000``, ``"40000"``, ``"40KB"`` / ``"40kB"`` / ``"40k"`` (x 1000), ``"1.5MB"``
    (x 1000^2), ``"3GB"`` (x 1000^3), ``"40KiB"`` (x 1024), ``"2MiB"`` (x 1024^2) or ``"1GiB"``. Units are case-insensitive; a space
    before the unit is allowed. ``OptionError`` for anything else, or for less than one byte."""
    if isinstance(text, int) and not isinstance(text, bool):
        number, unit = float(text), ""
    else:
        match = _SIZE_PATTERN.match(str(text))
        if match is None or match.group(2).lower() not in _SIZE_UNITS:
            raise OptionError(f"cannot read size {text!r}: give bytes (40000) or a number with KB, MB, GB, KiB, MiB or GiB")
        number, unit = float(match.group(1)), match.group(2).lower()
    size = round(number * _SIZE_UNITS[unit])
    if size < 1:
        raise OptionError(f"size {text!r} must be at least 1 byte")
    return size


def format_size(size: float) -> str:
    """``900 B``, ``3.4 KB``, ``52 KB``, ``1.52 MB``: decimal units, as ``parse_size`` reads them."""
    if size >= 1000**2:
        return f"{size / 1000**2:.3g} MB"
    if size >= 10_000:
        return f"{size / 1000:.0f} KB"
    if size >= 1000:
        return f"{size / 1000:.3g} KB"
    return f"{size:.0f} B"


# --- rate control ------------------------------------------------------------------------------------


def _on_grid(quality: float, step: float) -> int | float:
    """``quality`` clipped to 1..100 and put on the codec's grid (an int for a whole-number grid)."""
    quality = min(max(float(quality), _LOWEST), _HIGHEST)
    if step <= 0:
        return round(quality, 3)
    value = round(quality / step) * step
    return int(value) if float(value).is_integer() else value


def _coordinate(quality: float) -> float:
    """Where the searches interpolate: u = -ln(s(q) + 0.1), s the libjpeg quantiser scale.

    PSNR and log(size) are close to linear in the log of the quantiser step, far more than in the
    quality itself (both bend sharply below 30 and above 90), so regula falsi converges in a few steps.
    The offset keeps quality 100 at a finite place, not far above 95 (sizes level off there for WebP).
    """
    return -math.log(jpeg_scale(quality) + _SCALE_OFFSET)


def _quality(coordinate: float) -> float:
    """Inverse of ``_coordinate``."""
    scale = max(math.exp(-coordinate) - _SCALE_OFFSET, 0.0)
    return 100.0 - 50.0 * scale if scale <= 1.0 else 50.0 / scale


_FILL_RESERVE = 3  # encodes kept for the background fill after the roi search


class _Probe:
    """Region-adaptive encodes at (roi, bg) on the codec's grid: each once, counted and kept."""

    def __init__(self, codec: Codec, pixels: np.ndarray, importance: np.ndarray, region: np.ndarray,
                 settings: EncodeSettings, metadata: Metadata) -> None:
        self.codec, self.pixels, self.importance, self.region = codec, pixels, importance, region
        self.settings, self.metadata = settings, metadata
        self.files: dict[tuple[float, float], bytes] = {}
        self.psnrs: dict[tuple[float, float], float] = {}
        self.reserve = 0  # encodes a search must leave for the next one

    @property
    def encodes(self) -> int:
        return len(self.files)

    def left(self) -> bool:
        return self.encodes < MAX_ENCODES - self.reserve

    def key(self, roi: float, bg: float) -> tuple[int | float, int | float]:
        roi = _on_grid(roi, self.codec.roi_quality_step)
        return roi, min(_on_grid(bg, self.codec.bg_quality_step), roi)

    def size(self, roi: float, bg: float) -> int:
        key = self.key(roi, bg)
        if key not in self.files:
            settings = replace(self.settings, roi_quality=key[0], bg_quality=key[1])
            self.files[key] = self.codec.encode(self.pixels, self.importance, settings, self.metadata)
        return len(self.files[key])

    def psnr(self, roi: float, bg: float) -> float:
        key = self.key(roi, bg)
        if key not in self.psnrs:
            self.size(*key)
            decoded = decode_like(self.codec, self.files[key], self.pixels)
            self.psnrs[key] = psnr(self.pixels, decoded, self.region)
        return self.psnrs[key]

    def result(self, roi: float, bg: float, target: float, reached: bool, note: str = "") -> RateResult:
        key = self.key(roi, bg)
        value = self.psnr(*key)
        return RateResult(
            data=self.files[key],
            settings=replace(self.settings, roi_quality=key[0], bg_quality=key[1]),
            size=len(self.files[key]),
            psnr_inside=value,
            encodes=self.encodes,
            target=target,
            reached=reached,
            note=note,
        )


def fit_size(
    codec: Codec,
    pixels: np.ndarray,
    importance: np.ndarray,
    region: np.ndarray | None,
    target_bytes: int,
    settings: EncodeSettings,
    metadata: Metadata = Metadata(),
) -> RateResult:
    """The file of at most ``target_bytes`` with the best important-region quality, in <= 8 encodes.

    The background gives way first. From ``settings`` (roi R, background B):

    - too big: the background drops towards 1 at roi R; if background 1 is still too big, the roi
      quality drops with the background at 1, and what its grid step leaves under the target goes back
      to the background (up to min(B, roi));
    - too small: the roi quality rises towards 100 at background B, then the background rises.

    The file is never over the target; it is within 3 % under it (``reached``) unless the grid is too
    coarse (tiny images, whole-number qualities, an encoder's own quantiser steps), the budget ran out,
    or quality 100 stays under the target: ``note`` says which. ``metadata`` counts towards the size.
    Raises ``OptionError`` when the lowest qualities (roi 1, background 1) give a bigger file.
    ``region`` (bool HxW; default importance >= 0.5) is where ``psnr_inside`` is measured.
    """
    target = float(target_bytes)
    if not target >= 1:
        raise OptionError(f"target size must be at least 1 byte, got {target_bytes}")
    if region is None:
        region = np.asarray(importance) >= 0.5
    probe = _Probe(codec, pixels, importance, region, settings, metadata)
    roi0, bg0 = probe.key(settings.roi_quality, settings.bg_quality)
    aim = math.log((1 - SIZE_TOLERANCE / 2) * target)  # the middle of the accepted window
    fits_below, floor_value = math.log(target) - aim, math.log((1 - SIZE_TOLERANCE) * target) - aim

    def search(size_at: Callable[[float], int], start: float, bounds: tuple[float, float], step: float,
               slope: float) -> tuple[float | None, float | None]:
        """(largest fitting x found, smallest x found over the target) on one quality axis."""
        low, high = _search(
            lambda x: math.log(size_at(x)) - aim, start,
            is_low=lambda value: value <= fits_below,
            done=lambda low_value, high_value: low_value is not None and low_value >= floor_value,
            step=step, slope=slope, bounds=bounds, probe=probe,
        )
        return low, high

    start = probe.size(roi0, bg0)
    if start > target and probe.size(roi0, _LOWEST) <= target:
        # The background alone gives way.
        bg, _ = search(lambda b: probe.size(roi0, b), bg0, (_LOWEST, bg0), codec.bg_quality_step, _SIZE_PER_BG)
        return _size_result(probe, roi0, bg, target)
    if start > target:
        roi, _ = search(lambda r: probe.size(r, _LOWEST), roi0, (_LOWEST, roi0), codec.roi_quality_step,
                        _SIZE_PER_ROI)
        if roi is None:
            raise OptionError(
                f"{format_size(target)} is below the smallest file this image can make at the lowest "
                f"qualities ({format_size(probe.size(_LOWEST, _LOWEST))})"
            )
        fill_from, fill_to = _LOWEST, min(bg0, roi)
    else:
        # Room to spare (or already in the window): the roi quality rises first, then the background.
        # Encodes are kept back for the background: an encoder whose size jumps between two nearly equal
        # roi qualities (libjxl does) would otherwise spend the budget on the jump.
        probe.reserve = _FILL_RESERVE if bg0 < roi0 else 0
        roi, _ = search(lambda r: probe.size(r, bg0), roi0, (roi0, _HIGHEST), codec.roi_quality_step, _SIZE_PER_ROI)
        probe.reserve = 0
        fill_from, fill_to = bg0, roi
    if fill_to > fill_from and probe.size(roi, fill_from) < (1 - SIZE_TOLERANCE) * target:
        # A whole roi step more would be over the target: the bytes left go to the background.
        bg, _ = search(lambda b: probe.size(roi, b), fill_from, (fill_from, fill_to), codec.bg_quality_step,
                       _SIZE_PER_BG)
        return _size_result(probe, roi, bg, target)
    return _size_result(probe, roi, fill_from, target)


def _size_result(probe: _Probe, roi: float, bg: float, target: float) -> RateResult:
    size = probe.size(roi, bg)
    if size >= (1 - SIZE_TOLERANCE) * target:
        return probe.result(roi, bg, target, reached=True)
    roi, bg = probe.key(roi, bg)
    if roi >= _HIGHEST and bg >= _HIGHEST:
        why = "quality 100 everywhere makes no bigger file"
    elif not probe.left():
        why = f"stopped after {MAX_ENCODES} encodes"
    else:
        why = "the next quality step is over the target"
    note = f"{format_size(size)}, {100 * (1 - size / target):.1f} % under the target: {why}"
    return probe.result(roi, bg, target, reached=False, note=note)


def _search(
    measure: Callable[[float], float],
    start: float,
    *,
    is_low: Callable[[float], bool],
    done: Callable[[float | None, float | None], bool],
    step: float,
    slope: float,
    bounds: tuple[float, float],
    probe: _Probe,
) -> tuple[float | None, float | None]:
    """Bracket, then shrink, the zero of an increasing ``measure`` of the quality; returns (low, high).

    ``low`` is the highest quality found with ``is_low(measure)`` (None: even ``bounds[0]`` is not),
    ``high`` the lowest found without (None: even ``bounds[1]`` is low). Bracketing walks from ``start``
    in ``_coordinate`` (log quantiser scale): a first step of ``|measure| / slope``, then doubling
    steps. Shrinking takes the inverse quadratic interpolation through the bracket ends and the
    previous point (Brent's idea) when that lands well inside the bracket, else the regula falsi point
    with the Illinois halving (an end kept twice has its value halved, so a one-sided approach still
    converges). Points are put on the codec's grid, strictly inside the bracket. Stops when ``done``,
    when the ends are adjacent (``_adjacent``), or when the budget is spent.
    """
    lowest, highest = bounds
    low = high = low_value = high_value = None
    x, distance = _on_grid(start, step), 0.0
    while True:
        value = measure(x)
        if is_low(value):
            low, low_value = x, value
        else:
            high, high_value = x, value
        if (low is not None and high is not None) or done(low_value, high_value) or not probe.left():
            break
        going_up = high is None
        if (going_up and x >= highest) or (not going_up and x <= lowest):
            return low, high  # the bound itself is on the same side: nothing to bracket
        distance = max(2 * distance, abs(value) / slope, _CONTINUOUS_RESOLUTION)
        moved = _quality(_coordinate(x) + (distance if going_up else -distance))
        if step > 0:
            moved = max(moved, x + step) if going_up else min(moved, x - step)
        x = _on_grid(min(max(moved, lowest), highest), step)
    if low is None or high is None:
        return low, high
    steer_low, steer_high = low_value, high_value
    previous: tuple[float, float] | None = None
    side = 0  # > 0: low moved last time(s); < 0: high did
    while probe.left() and not done(low_value, high_value) and not _adjacent(low, high, step):
        x = _next_point(low, high, steer_low, steer_high, previous, step)
        value = measure(x)
        if is_low(value):
            previous = (low, steer_low)
            low, low_value, steer_low = x, value, value
            if side > 0:
                steer_high /= 2
            side = max(side, 0) + 1
        else:
            previous = (high, steer_high)
            high, high_value, steer_high = x, value, value
            if side < 0:
                steer_low /= 2
            side = min(side, 0) - 1
    return low, high


def _adjacent(low: float, high: float, step: float) -> bool:
    """Whether nothing worth an encode lies between ``low`` and ``high`` on the grid."""
    if step > 0:
        return high - low <= step * 1.0001
    return _coordinate(high) - _coordinate(low) <= _CONTINUOUS_RESOLUTION


def _next_point(
    low: float, high: float, low_value: float, high_value: float, previous: tuple[float, float] | None, step: float
) -> float:
    """The next quality to try inside (low, high): inverse quadratic, else regula falsi, on the grid."""
    u_low, u_high = _coordinate(low), _coordinate(high)
    u = None
    if previous is not None:
        u_previous, previous_value = _coordinate(previous[0]), previous[1]
        if len({low_value, high_value, previous_value}) == 3:
            # Lagrange interpolation of u as a function of the measure, evaluated where the measure is 0.
            u = (u_low * high_value * previous_value / ((low_value - high_value) * (low_value - previous_value))
                 + u_high * low_value * previous_value / ((high_value - low_value) * (high_value - previous_value))
                 + u_previous * low_value * high_value
                 / ((previous_value - low_value) * (previous_value - high_value)))
            inside = u_low + 0.05 * (u_high - u_low) <= u <= u_high - 0.05 * (u_high - u_low)
            u = u if inside else None
    if u is None:
        fraction = -low_value / (high_value - low_value) if high_value != low_value else 0.5
        u = u_low + (u_high - u_low) * min(max(fraction, 0.0), 1.0)
    x = _on_grid(_quality(u), step)
    if step > 0:
        return min(max(x, _on_grid(low + step, step)), _on_grid(high - step, step))
    margin = 0.05 * (high - low)
    return min(max(x, round(low + margin, 3)), round(high - margin, 3))


def fit_roi_psnr(
    codec: Codec,
    pixels: np.ndarray,
    importance: np.ndarray,
    region: np.ndarray,
    target_psnr: float,
    settings: EncodeSettings,
    metadata: Metadata = Metadata(),
) -> RateResult:
    """The smallest file whose PSNR inside ``region`` reaches ``target_psnr``, in <= 8 encodes.

    Only the roi quality moves; the background keeps ``settings.bg_quality`` (capped at the roi quality),
    so the answer is the smallest file with the background asked for. The search (``_search``) starts at
    ``settings.roi_quality`` with a first step of the expected size (PSNR falls by about 3.5 dB per unit
    of ln quantiser scale) and stops once the PSNR is at most 0.1 dB above the target or, on a
    whole-number grid, the bracketing qualities are adjacent. Raises ``OptionError`` for an empty region
    or a target that quality 100 does not reach.
    """
    if region is None or not np.any(region):
        raise OptionError("a PSNR target needs an important region, and this image has none")
    if not (math.isfinite(target_psnr) and target_psnr > 0):
        raise OptionError(f"target PSNR must be a positive number of dB, got {target_psnr}")
    probe = _Probe(codec, pixels, importance, region, settings, metadata)
    bg = settings.bg_quality
    aim = target_psnr + PSNR_TOLERANCE / 2  # the middle of the accepted window
    low, high = _search(
        lambda roi: min(probe.psnr(roi, bg), _PSNR_CEILING) - aim,  # lossless: inf, kept finite here
        settings.roi_quality,
        is_low=lambda value: value + aim < target_psnr,
        done=lambda low_value, high_value: high_value is not None and high_value + aim - target_psnr <= PSNR_TOLERANCE,
        step=codec.roi_quality_step,
        slope=_DB_PER_COORDINATE,
        bounds=(_LOWEST, _HIGHEST),
        probe=probe,
    )
    if high is None:
        reached = probe.psnr(low, bg)
        if low >= _HIGHEST:
            raise OptionError(
                f"{target_psnr:g} dB inside the important region is above what this image reaches at "
                f"quality 100 ({reached:.2f} dB)"
            )
        return probe.result(low, bg, target_psnr, reached=False,
                            note=f"stopped after {MAX_ENCODES} encodes at {reached:.2f} dB, below the target")
    value = probe.psnr(high, bg)
    adjacent = low is not None and _adjacent(low, high, codec.roi_quality_step)
    if value - target_psnr <= PSNR_TOLERANCE or high <= _LOWEST or adjacent:
        return probe.result(high, bg, target_psnr, reached=True)
    return probe.result(high, bg, target_psnr, reached=False,
                        note=f"stopped after {MAX_ENCODES} encodes at {value:.2f} dB; a lower quality may do")
