"""Background conditioning: remove detail the importance map calls unimportant, before a standard encoder.

WebP, AVIF, JPEG 2000 and JPEG XL encoders reachable from Python take one quality for the whole
picture. Region control therefore comes from the pixels themselves: texture in the background is
flattened first, so the encoder, run at the roi quality, finds little there to spend bytes on, while
the important pixels reach it untouched::

    pixels --smooth(conditioning)--> smoothed         (the whole picture, background strength)
    out = w * pixels + (1 - w) * smoothed,  w = round(255 * importance) / 255, per pixel
    out --encoder at roi quality--> file

The blend is exact integer arithmetic (Pillow's composite): where importance is 1 the weight is 255/255
and the output pixel is the input pixel, bit for bit; a feathered map fades the smoothing in.

Three conditionings (each codec picks one: ``ConditionedCodec.conditioning_method``):

- ``sparsify`` (AVIF, WebP): block-DCT hard thresholding in YCbCr on the encoder's own transform grid
  (16x16 for AV1, 4x4 for VP8): every coefficient of the background below a threshold is dropped, the
  block means and the strong coefficients (edges, large shapes) are kept exactly. What stays is sparse
  in the very basis the encoder codes, so it costs few bits; hard thresholding in an orthonormal
  transform also loses the least squared error for the coefficients it drops. For the same PSNR
  outside the region it saves far more than smoothing (see ``benchmarks/README.md``), at the price of a
  blockier background where the threshold is high.
- ``flatten`` (the default; JPEG 2000): an edge-aware guided filter (He, Sun and Tang, "Guided Image
  Filtering", ECCV 2010, in its fast form, He and Sun 2015) guided by each channel itself. In a
  window, detail whose local variance is far below ``variance`` is replaced by the window mean; edges
  whose variance is far above it are kept. Texture (foliage, asphalt, noise) goes; outlines stay, which is what keeps the
  background readable at a given byte count.
- ``blur`` (JPEG XL from pixels): a Gaussian blur of ``sigma`` pixels: simpler, removes edges as well.

For the lowest background qualities all three add a Gaussian blur (``sigma``), so the strength keeps
growing down to quality 1 (rate control relies on size falling steadily with the background quality);
``sparsify`` blurs before thresholding (blurring its blocks afterwards softens their edges off the
encoder's grid and made files bigger); ``flatten`` applies it to its coefficients at half
resolution (``sigma / 2`` there) before they are upsampled, which blurs the result by about ``sigma``
at a quarter of the cost of a full-resolution blur (on a CamVid frame at roi 85, AVIF: the same
bytes-against-PSNR-outside curve within 0.1 dB, 48 instead of 66 ms/MP under load); ``blur`` blurs the
full-resolution picture.

Measured on CamVid val (region: sign, car, pedestrian, bicyclist dilated 8 px), roi qualities 50-95
with background 25, BD-rate on (bytes, PSNR inside) against the uniform encode of the same format: at
the same mean PSNR outside the region (27.7 dB at roi 85, 8 frames), ``flatten`` reaches -39.3 % with
WebP and -39.1 % with AVIF, ``blur`` -35.7 % and -33.7 %. At about 25.3 dB outside (every 4th frame),
``flatten`` gives AVIF about -52 %, ``sparsify`` on 16-pixel blocks -62.4 % (``benchmarks/README.md``
has the whole comparison).

Speed: all single-threaded, no Python loop over pixels. ``flatten`` takes its statistics from a 2x
box-reduced copy (a 3x3 window there, about 6x6 pixels) in float32 channel planes; its coefficients are
upsampled by Pillow and applied in uint16 arithmetic. ``sparsify`` does its DCTs as (block x block)
matrix products over whole block rows, transposing the picture between the two passes; the YCbCr
conversions are Pillow's. On the 101 CamVid frames, ``condition`` at the defaults (blend included)
takes 33 ms/MP for WebP (sparsify, 4 px blocks; 0.36x its encode), 36 for AVIF (sparsify, 16 px;
0.07x its encode at speed 6), 42 for JPEG XL (blur; 0.13x at effort 7) and 37 for JPEG 2000
(flatten; 0.24x).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from .codecs.jpeg_quant import jpeg_scale
from .errors import OptionError

METHODS = ("flatten", "blur", "sparsify")
DEFAULT_METHOD = "flatten"

# Calibration (see strength()): the flatten variance and blur sigma at background quality 25 with a
# high roi quality; both grow with the square of the JPEG quantiser scale of the background quality.
FLATTEN_VARIANCE_AT_25 = 0.03  # in (value / 255)^2 units: a local standard deviation of ~44 levels
BLUR_SIGMA_AT_25 = 1.3  # pixels
# Past this variance the flatten filter is a plain window mean: more cannot remove more.
_MAX_VARIANCE = 1.0
# Below background quality _EXTRA_BLUR_FROM an extra Gaussian blur grows with the quantiser scale.
_EXTRA_BLUR_FROM = 10
_EXTRA_BLUR_PER_SCALE = 0.08  # pixels of sigma per unit of JPEG scale (scale 50 at quality 1: 3.6 px)
_MAX_SIGMA = 64.0  # a flat colour long before: only keeps the cap out of the useful range
# sparsify: the coefficient threshold (orthonormal block DCT, in 8-bit levels) at background quality 25
# with a high roi quality and scale 1; it grows with the square root of the excess (a quantiser step).
SPARSIFY_THRESHOLD_AT_25 = 40.0
_MAX_THRESHOLD = 4096.0  # above every coefficient of an 8-bit picture: only the block means are left
BLOCKS = (4, 8, 16, 32)


@dataclass(frozen=True)
class Conditioning:
    """How hard the background (importance 0) is smoothed; importance 1 is never touched.

    ``variance``: flatten threshold (local variance, pixel values in [0, 1]); ``sigma``: Gaussian blur
    in pixels (the whole smoothing for ``blur``, an addition at the lowest qualities for ``flatten``);
    ``threshold``: the block-DCT coefficient magnitude (8-bit levels) below which ``sparsify`` drops a
    coefficient, on ``block`` x ``block`` blocks.
    """

    method: str = DEFAULT_METHOD
    variance: float = 0.0
    sigma: float = 0.0
    threshold: float = 0.0
    block: int = 16

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise OptionError(f"unknown conditioning {self.method!r}; choose {', '.join(METHODS)}")
        if not (self.variance >= 0 and self.sigma >= 0 and self.threshold >= 0):
            raise OptionError("conditioning strengths must be non-negative numbers")
        if self.block not in BLOCKS:
            raise OptionError(f"sparsify blocks are {', '.join(map(str, BLOCKS))} pixels, not {self.block}")

    @property
    def is_identity(self) -> bool:
        return self.variance == 0 and self.sigma == 0 and self.threshold == 0


def strength(
    roi_quality: float, bg_quality: float, method: str = DEFAULT_METHOD, scale: float = 1.0, block: int = 16
) -> Conditioning:
    """The conditioning for a background at ``bg_quality`` in a file encoded at ``roi_quality``.

    Mapping: the encoder at ``roi_quality`` already removes what a quantiser of scale s(roi) removes,
    so the background only needs the difference. With s the libjpeg quantiser scale (``jpeg_scale``)::

        excess = (s(bg)^2 - s(roi)^2) / s(25)^2        (0 when bg >= roi, 1 at bg 25 with roi 100)
        flatten: variance = 0.03 * scale * excess      (capped at 1.0: a plain 6x6 mean)
        blur:    sigma    = 1.3 * sqrt(scale * excess) (capped at 64 px)
        sparsify: threshold = 40 * sqrt(scale * excess) levels, on ``block``-pixel DCT blocks
        all, bg below 10: + Gaussian sigma 0.08 * (s(bg) - max(s(10), s(roi))): 0.4 px at 5, 3.6 px at 1

    ``scale`` is the codec's own calibration (its ``conditioning_scale``): the codecs differ in how much
    the same smoothing saves. Continuous and non-decreasing as ``bg_quality`` falls, fractional
    qualities included (rate control searches over them).
    """
    if method not in METHODS:
        raise OptionError(f"unknown conditioning {method!r}; choose {', '.join(METHODS)}")
    if bg_quality >= roi_quality:
        return Conditioning(method, block=block)
    amount = excess(roi_quality, bg_quality) * scale
    floor = max(jpeg_scale(roi_quality), jpeg_scale(_EXTRA_BLUR_FROM))
    extra = _EXTRA_BLUR_PER_SCALE * max(jpeg_scale(bg_quality) - floor, 0.0)
    if method == "sparsify":
        threshold = min(SPARSIFY_THRESHOLD_AT_25 * math.sqrt(amount), _MAX_THRESHOLD)
        return Conditioning(method, threshold=threshold, sigma=extra, block=block)
    if method == "flatten":
        return Conditioning(method, variance=min(FLATTEN_VARIANCE_AT_25 * amount, _MAX_VARIANCE), sigma=extra)
    sigma = math.hypot(BLUR_SIGMA_AT_25 * math.sqrt(amount), extra)
    return Conditioning(method, sigma=min(sigma, _MAX_SIGMA))


def excess(roi_quality: float, bg_quality: float) -> float:
    """``(s(bg)^2 - s(roi)^2) / s(25)^2``, at least 0: how much more the background is to lose."""
    return max(jpeg_scale(bg_quality) ** 2 - jpeg_scale(roi_quality) ** 2, 0.0) / jpeg_scale(25) ** 2


def condition(pixels: np.ndarray, importance: np.ndarray, conditioning: Conditioning) -> np.ndarray:
    """``pixels`` with the background smoothed as ``conditioning`` says, blended through ``importance``.

    Pixels whose importance rounds to 1 (>= 0.998) come back bit-identical; importance 0 gets the full
    smoothing. A picture of more than ``STRIP_PIXELS`` is conditioned in strips of rows, each smoothed
    with enough rows around it (``halo``) for the smoothing to see what it sees in the whole picture,
    so the temporaries stay those of a 1-megapixel picture and only the result is full size.
    """
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3):
        raise ValueError(f"pixels must be uint8 HxW or HxWxC, got {pixels.dtype} {pixels.shape}")
    if importance.shape != pixels.shape[:2]:
        raise ValueError(f"importance is {importance.shape}, pixels are {pixels.shape[:2]}")
    out = pixels.copy()
    if conditioning.is_identity or pixels.size == 0:
        return out
    height, width = pixels.shape[:2]
    step = _strip_rows(width, conditioning)
    margin = halo(conditioning) if step < height else 0
    for top in range(0, height, step):
        bottom = min(top + step, height)
        weights = weights_of(importance[top:bottom])
        if weights.min() == 255:
            continue  # nothing to smooth here: the pixels stay as copied
        start, stop = max(0, top - margin), min(height, bottom + margin)
        smoothed = smooth(pixels[start:stop], conditioning)[top - start : bottom - start]
        out[top:bottom] = blend(pixels[top:bottom], np.ascontiguousarray(smoothed), weights)
    return out


# Pictures up to this many pixels are smoothed whole; larger ones in strips of about this many pixels
# (at least 4 halos high, so the rows smoothed twice stay a modest share).
STRIP_PIXELS = 1 << 18


def halo(conditioning: Conditioning) -> int:
    """Rows above and below a strip that its smoothing reads: past the Gaussian's reach (Pillow's three box
    passes reach about 3 sigma), the flatten filter's windows, and whole blocks for ``sparsify``."""
    reach = 8 + math.ceil(4 * conditioning.sigma)
    return -(-reach // _alignment(conditioning)) * _alignment(conditioning)


def _alignment(conditioning: Conditioning) -> int:
    """Strips start on multiples of this: sparsify's block grid, flatten's 2x reduction."""
    return conditioning.block if conditioning.method == "sparsify" else 2


def _strip_rows(width: int, conditioning: Conditioning) -> int:
    align = _alignment(conditioning)
    return max(4 * halo(conditioning), STRIP_PIXELS // max(1, width) // align * align)


def weights_of(importance: np.ndarray) -> np.ndarray:
    """The blend weights: ``round(255 * importance)`` as uint8."""
    return (np.clip(importance, 0.0, 1.0) * np.float32(255) + np.float32(0.5)).astype(np.uint8)


def blend(pixels: np.ndarray, smoothed: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``round((pixels * w + smoothed * (255 - w)) / 255)`` (Pillow's composite, exact).

    Weight 255 returns the pixel of ``pixels`` unchanged, weight 0 that of ``smoothed``.
    """
    mixed = Image.composite(Image.fromarray(pixels), Image.fromarray(smoothed), Image.fromarray(weights))
    return np.asarray(mixed)


def smooth(pixels: np.ndarray, conditioning: Conditioning) -> np.ndarray:
    """The whole picture smoothed at full background strength (uint8, same shape)."""
    if conditioning.method == "sparsify":
        # The blur goes first: blurring the thresholded blocks would soften their edges off the encoder's
        # grid, which costs more bytes than it saves.
        out = gaussian(pixels, conditioning.sigma) if conditioning.sigma > 0 else pixels
        return sparsify(out, conditioning.threshold, conditioning.block) if conditioning.threshold > 0 else out
    if conditioning.method == "flatten" and conditioning.variance > 0:
        return flatten(pixels, conditioning.variance, conditioning.sigma)
    if conditioning.sigma > 0:
        return gaussian(pixels, conditioning.sigma)
    return pixels


def sparsify(pixels: np.ndarray, threshold: float, block: int = 16) -> np.ndarray:
    """Block-DCT hard thresholding in YCbCr: every coefficient below ``threshold`` (but the DC) goes.

    The picture is converted to YCbCr (Pillow's, the BT.601 full-range transform the encoders use for
    RGB input), cut into ``block`` x ``block`` blocks from the top-left corner (the grid of the encoders'
    own transforms: AV1 and VP8 blocks start there too), transformed by an orthonormal 2-D DCT-II, and
    coefficients whose magnitude is below ``threshold`` are set to 0; each block keeps its mean. What
    stays is what the encoder's own transform finds sparse: strong edges and large shapes keep their
    coefficients exactly, texture and noise (many small coefficients) go. Hard thresholding is what
    loses the least squared error for a given number of dropped coefficients (the transform is
    orthonormal), which is why, for the same PSNR outside the region, it saves more than smoothing
    where the block grid is the encoder's. Edges of the picture are padded by repetition to whole blocks.
    """
    height, width = pixels.shape[:2]
    grey = pixels.ndim == 2
    ycc = pixels if grey else np.asarray(Image.fromarray(pixels).convert("YCbCr"))
    planes = ycc[None] if grey else ycc.transpose(2, 0, 1)
    channels = planes.shape[0]
    rows, cols = -(-height // block) * block, -(-width // block) * block
    work = np.empty((channels, rows, cols), np.float32)
    work[:, :height, :width] = planes
    work[:, height:, :width] = work[:, height - 1 : height, :width]
    work[:, :, width:] = work[:, :, width - 1 : width]
    basis = _dct_basis(block)
    # Both 1-D passes are (block x block) @ (block x length) products over whole block rows, the fast
    # shape for numpy; the picture is transposed between them. Coefficients end up transposed (C, cols, rows).
    coefficients = _columns(basis, _columns(basis, work).transpose(0, 2, 1).copy())
    small = np.abs(coefficients) < np.float32(threshold)
    small.reshape(channels, cols // block, block, rows // block, block)[:, :, 0, :, 0] = False  # keep the means
    np.putmask(coefficients, small, np.float32(0))
    restored = _columns(basis.T, _columns(basis.T, coefficients).transpose(0, 2, 1).copy())
    restored = restored[:, :height, :width]
    restored += np.float32(0.5)
    out = np.clip(restored, 0, 255).astype(np.uint8)
    if grey:
        return out[0]
    return np.asarray(Image.fromarray(np.ascontiguousarray(out.transpose(1, 2, 0)), "YCbCr").convert("RGB"))


def _columns(matrix: np.ndarray, planes: np.ndarray) -> np.ndarray:
    """``matrix`` applied to every run of ``len(matrix)`` rows of (C, rows, cols) planes."""
    channels, rows, cols = planes.shape
    size = matrix.shape[0]
    return (matrix @ planes.reshape(channels, rows // size, size, cols)).reshape(channels, rows, cols)


def _dct_basis(size: int) -> np.ndarray:
    """The orthonormal DCT-II matrix (rows: frequencies), float32."""
    k = np.arange(size)
    basis = np.sqrt(2.0 / size) * np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * size))
    basis[0] /= np.sqrt(2.0)
    return basis.astype(np.float32)


def gaussian(pixels: np.ndarray, sigma: float) -> np.ndarray:
    """Pillow's Gaussian blur (extended box passes, cost independent of sigma)."""
    return np.asarray(Image.fromarray(pixels).filter(ImageFilter.GaussianBlur(sigma)))


def flatten(pixels: np.ndarray, variance: float, sigma: float = 0.0) -> np.ndarray:
    """Self-guided filter per channel: texture below ``variance`` goes to the local mean, edges stay.

    Fast guided filter: the coefficients a, b of ``out = a * in + b`` come from 3x3 window statistics of a
    2x box-reduced copy (a = var / (var + variance), b = (1 - a) * mean) and are box-averaged there;
    they are stored as 8-bit images (a scaled to 0..255, b in pixel levels: at most one level of error
    in the result), upsampled bilinearly by Pillow and applied to the full-resolution pixels in uint16.
    The statistics run on channel planes (C, h, w): whole contiguous planes are several times faster
    than interleaved channels for numpy. ``sigma`` > 0 blurs the coefficient images (Gaussian of
    ``sigma / 2`` at their half resolution) before the upsampling: a smoother result, as if blurred by
    about ``sigma`` pixels, at a quarter of the cost.
    """
    height, width = pixels.shape[:2]
    if height < 4 or width < 4:
        return gaussian(pixels, sigma) if sigma > 0 else pixels
    reduced = np.asarray(Image.fromarray(pixels).reduce(2), dtype=np.float32)
    planes = reduced[None] if reduced.ndim == 2 else reduced.transpose(2, 0, 1)
    channels = planes.shape[0]
    # Window means of x and x^2 in one pass; values stay in 0..255 units.
    work = np.empty((2 * channels,) + planes.shape[1:], np.float32)
    work[:channels] = planes
    np.square(planes, out=work[channels:])
    stats = _box3(work)
    mean, spread = stats[:channels], stats[channels:]
    spread -= mean * mean  # the local variance
    np.maximum(spread, 0, out=spread)
    # Reusing work: offsets b = (1 - a) * mean first, gains a = var / (var + threshold), x 255, second.
    offsets, gains = work[:channels], work[channels:]
    np.divide(spread, spread + np.float32(variance * 255 * 255), out=gains)
    np.subtract(np.float32(1), gains, out=offsets)
    offsets *= mean
    gains *= np.float32(255)
    coefficients = _box3(work)
    coefficients += np.float32(0.5)
    coefficients = coefficients.astype(np.uint8)
    offset = _resize(coefficients[:channels], width, height, sigma / 2)
    gain = _resize(coefficients[channels:], width, height, sigma / 2)
    # round(gain * pixels / 255) exactly, for products up to 255 * 255: (x + (x >> 8)) >> 8 after + 128.
    product = gain.astype(np.uint16) * pixels
    product += np.uint16(128)
    product += product >> 8
    product >>= 8
    product += offset
    return np.minimum(product, 255).astype(np.uint8)


def _resize(planes: np.ndarray, width: int, height: int, sigma: float = 0.0) -> np.ndarray:
    """Bilinear 2x enlargement of uint8 planes (1 or 3, h, w) to ``height`` x ``width`` with Pillow, back as
    HxW or HxWx3; a Gaussian blur of ``sigma`` (pixels of the planes) first when it is positive."""
    image = Image.fromarray(planes[0] if planes.shape[0] == 1 else np.ascontiguousarray(planes.transpose(1, 2, 0)))
    if sigma > 0:
        image = image.filter(ImageFilter.GaussianBlur(sigma))
    # The box keeps the scale exactly 2 for odd sizes too (the last reduced row stands for a half row),
    # so a strip of rows starting on an even row resamples as that part of the whole picture does.
    return np.asarray(image.resize((width, height), Image.Resampling.BILINEAR, box=(0, 0, width / 2, height / 2)))


def _box3(planes: np.ndarray) -> np.ndarray:
    """Mean over each 3x3 window (edges replicated), for (C, h, w) float32 planes."""
    padded = np.pad(planes, ((0, 0), (1, 1), (1, 1)), mode="edge")
    rows = padded[:, :-2] + padded[:, 1:-1]
    rows += padded[:, 2:]
    out = rows[:, :, :-2] + rows[:, :, 1:-1]
    out += rows[:, :, 2:]
    out *= np.float32(1 / 9)
    return out
