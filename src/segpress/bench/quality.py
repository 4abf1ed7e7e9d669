"""Full-reference quality over a region: PSNR, SSIM, MS-SSIM and an importance-weighted PSNR.

Every measure is taken over the whole image, the important region and the background (its
complement), because region-adaptive coding trades one against the other::

    original, decoded ─┬─ PSNR          segpress.metrics.psnr over a mask
                       ├─ SSIM          scikit-image's map (Gaussian 11 taps, sigma 1.5), averaged over a mask
                       ├─ MS-SSIM       Wang, Simoncelli & Bovik 2003: contrast-structure at 5 scales,
                       │                luminance at the coarsest, each averaged over the mask at that scale
                       └─ weighted PSNR the squared error weighted by the importance map

SSIM is scikit-image's ``structural_similarity`` with the settings of Wang et al. 2004 (Gaussian
window, population covariance, K1 = 0.01, K2 = 0.03, 8-bit range). scikit-image has no MS-SSIM and
does not expose the contrast-structure term it needs, so :class:`MsSsim` computes the same moments
the same way (``scipy.ndimage`` Gaussian, truncated at 3.5 sigma = 11 taps, reflect mode, the
5-pixel border left out, as scikit-image leaves it out) at every scale; its single-scale value is
scikit-image's SSIM (tested). Scales are 2x2 averages (Wang's MATLAB code); negative
contrast-structure averages are clipped to 0 before the fractional power (as TensorFlow and
pytorch-msssim do). RGB values are the mean of the per-channel values, as in scikit-image.

Over the whole image the maps are averaged without the 5-pixel border (the window is cut there), as
in Wang's code and scikit-image, so whole-image values match the reference implementations. Over a
region every pixel of it counts, border included (the filters reflect at the edges): a region along
the edge of the image (sky, a car half out of the frame) keeps its value at the coarse scales, where
the border is a large share of the map. Each scale's map is averaged with the region mask pooled to
that scale as weights (a pixel half inside counts half). An empty region gives NaN, like PSNR over
an empty region. Images too small for 5 scales (shorter side under 176 pixels: the coarsest scale
must hold a whole window) use the scales that fit, with the weights renormalised; ``MsSsim.scales``
says how many.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from scipy import ndimage
from skimage.metrics import structural_similarity

from segpress.metrics import psnr

SIGMA = 1.5
TRUNCATE = 3.5  # scikit-image's value with gaussian_weights: an 11-tap window for sigma 1.5
WINDOW = 2 * int(TRUNCATE * SIGMA + 0.5) + 1
BORDER = (WINDOW - 1) // 2
K1, K2 = 0.01, 0.03
PEAK = 255.0
C1, C2 = (K1 * PEAK) ** 2, (K2 * PEAK) ** 2
# Wang, Simoncelli & Bovik 2003, table 1 (finest scale first).
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _channels(pixels: np.ndarray) -> np.ndarray:
    """float64 (C, H, W) view of uint8 HxW or HxWxC pixels."""
    values = np.asarray(pixels, dtype=np.float64)
    return values[None] if values.ndim == 2 else np.moveaxis(values, -1, 0)


def _masked_mean(values: np.ndarray, weights: np.ndarray) -> float:
    total = float(weights.sum())
    return math.nan if total <= 0 else float((values * weights).sum() / total)


def _inner(array: np.ndarray) -> np.ndarray:
    """The last two axes without the window's border, where the filtered moments are whole."""
    return array[..., BORDER:-BORDER, BORDER:-BORDER]


def ssim(reference: np.ndarray, decoded: np.ndarray, masks: Mapping[str, np.ndarray]) -> dict[str, float]:
    """SSIM (scikit-image, Wang et al. 2004 settings) over the whole image and over each boolean mask."""
    whole, ssim_map = structural_similarity(
        reference, decoded, data_range=PEAK, gaussian_weights=True, sigma=SIGMA,
        use_sample_covariance=False, channel_axis=-1 if reference.ndim == 3 else None, full=True,
    )
    per_pixel = _channels(ssim_map).mean(axis=0)
    values = {"whole": float(whole)}
    for name, mask in masks.items():
        values[name] = _masked_mean(per_pixel, mask.astype(np.float64))
    return values


def weighted_psnr(reference: np.ndarray, decoded: np.ndarray, weights: np.ndarray) -> float:
    """PSNR of the squared error weighted per pixel by ``weights`` (HxW, >= 0); NaN for zero weight."""
    error = (reference.astype(np.float64) - decoded.astype(np.float64)) ** 2
    if error.ndim == 3:
        error = error.mean(axis=2)
    mse = _masked_mean(error, weights.astype(np.float64))
    if math.isnan(mse):
        return math.nan
    return math.inf if mse == 0 else 10.0 * math.log10(PEAK**2 / mse)


def _downsample(values: np.ndarray) -> np.ndarray:
    """2x2 averages over the last two axes (an odd last row or column is dropped)."""
    height, width = values.shape[-2] // 2 * 2, values.shape[-1] // 2 * 2
    cut = values[..., :height, :width]
    return 0.25 * (cut[..., 0::2, 0::2] + cut[..., 1::2, 0::2] + cut[..., 0::2, 1::2] + cut[..., 1::2, 1::2])


def _blur(values: np.ndarray) -> np.ndarray:
    """The SSIM window over the last two axes of a (C, H, W) array."""
    return ndimage.gaussian_filter(values, sigma=(0, SIGMA, SIGMA), truncate=TRUNCATE, mode="reflect")


def scales_for(height: int, width: int, wanted: int = len(MS_SSIM_WEIGHTS)) -> int:
    """How many scales fit: the coarsest must still hold one whole window."""
    scales = 1
    while scales < wanted and min(height, width) >> scales >= WINDOW:
        scales += 1
    return scales


class MsSsim:
    """MS-SSIM of decoded versions of one reference image, over the whole image and named masks.

    The reference's pyramid, means and second moments are computed once, so each decoded image
    costs three filtered products per scale. ``weights`` defaults to Wang et al.'s five scales.
    """

    def __init__(
        self, reference: np.ndarray, masks: Mapping[str, np.ndarray], weights: tuple[float, ...] = MS_SSIM_WEIGHTS
    ) -> None:
        height, width = reference.shape[:2]
        self.scales = scales_for(height, width, len(weights))
        kept = np.asarray(weights[: self.scales], dtype=np.float64)
        self.weights = kept * (sum(weights) / kept.sum())  # unchanged when every scale fits
        self._pyramid = self._build(_channels(reference))
        self._means = [_blur(level) for level in self._pyramid]
        self._squares = [_blur(level * level) for level in self._pyramid]
        self._masks = {name: [level[0] for level in self._build(np.asarray(mask, dtype=np.float64)[None])]
                       for name, mask in masks.items()}

    def _build(self, values: np.ndarray) -> list[np.ndarray]:
        levels = [values]
        for _ in range(self.scales - 1):
            levels.append(_downsample(levels[-1]))
        return levels

    def __call__(self, decoded: np.ndarray) -> dict[str, float]:
        """{"whole": ..., <mask name>: ...} for ``decoded`` (same shape as the reference)."""
        per_scale: dict[str, list[np.ndarray]] = {name: [] for name in ("whole", *self._masks)}
        level = _channels(decoded)
        for scale in range(self.scales):
            if scale:
                level = _downsample(level)
            x, mean_x, square_x = self._pyramid[scale], self._means[scale], self._squares[scale]
            mean_y = _blur(level)
            variance_x = square_x - mean_x**2
            variance_y = _blur(level * level) - mean_y**2
            covariance = _blur(x * level) - mean_x * mean_y
            term = (2 * covariance + C2) / (variance_x + variance_y + C2)
            if scale == self.scales - 1:  # luminance only at the coarsest scale
                term = term * (2 * mean_x * mean_y + C1) / (mean_x**2 + mean_y**2 + C1)
            per_scale["whole"].append(_inner(term).mean(axis=(1, 2)))  # per channel
            for name, masks in self._masks.items():
                weights = masks[scale]
                total = weights.sum()
                per_scale[name].append(
                    np.full(len(term), np.nan) if total <= 0 else (term * weights).sum(axis=(1, 2)) / total
                )
        values = {}
        for name, terms in per_scale.items():
            stacked = np.maximum(np.stack(terms), 0.0)  # (scales, channels)
            per_channel = np.prod(stacked ** self.weights[:, None], axis=0)
            values[name] = float(per_channel.mean())
        return values


def ms_ssim_db(value: float) -> float:
    """MS-SSIM on a decibel scale, -10 log10(1 - value): the usual axis for BD-rate on MS-SSIM."""
    if math.isnan(value):
        return math.nan
    return math.inf if value >= 1.0 else -10.0 * math.log10(1.0 - value)


def region_quality(
    reference: np.ndarray, decoded: np.ndarray, region: np.ndarray, weights: np.ndarray, ms_ssim: MsSsim
) -> dict[str, float]:
    """Every measure of one decoded image, flat: ``psnr_whole``, ``psnr_roi``, ``psnr_background``, the same for
    ``ssim_*`` and ``ms_ssim_*``, and ``psnr_weighted``. ``ms_ssim`` must be built with masks "roi" and "background"."""
    masks = {"roi": region, "background": ~region}
    figures = {
        "psnr_whole": psnr(reference, decoded),
        "psnr_roi": psnr(reference, decoded, region),
        "psnr_background": psnr(reference, decoded, ~region),
    }
    figures.update({f"ssim_{name}": value for name, value in ssim(reference, decoded, masks).items()})
    figures.update({f"ms_ssim_{name}": value for name, value in ms_ssim(decoded).items()})
    figures["psnr_weighted"] = weighted_psnr(reference, decoded, weights)
    return figures
