"""Public entry points: ``compress`` (and the importance map it is built on).

Data flow::

    image --imageio.load_image--> pixels (+ ICC, EXIF)
    mask | label map + policy | array --importance--> importance map (float HxW in [0, 1]) --shape-->
    codec.encode(pixels, importance) --> file bytes --decode--> PSNR inside / outside the region
    ratecontrol.match_uniform --> bytes a uniform encode needs for the same PSNR inside (the saving)
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from importlib.metadata import version as package_version
from os import PathLike
from typing import Any

import numpy as np
from PIL import Image

from . import codecs, embedded
from . import importance as imp
from .codecs import EncodeSettings, Metadata
from .codecs.base import SUBSAMPLINGS
from .errors import OptionError
from .imageio import DEFAULT_MAX_PIXELS, LoadedImage, load_image, load_labels, load_mask
from .metrics import bits_per_pixel, psnr
from .policy import Policy, load_policy
from .ratecontrol import match_uniform
from .taxonomy import CLASSES

ImageSource = str | PathLike | bytes | np.ndarray | Image.Image

# Pixels at or above this importance form "the important region" that PSNR-inside is measured on.
REGION_THRESHOLD = 0.5
DEFAULT_ROI_QUALITY = 85
DEFAULT_BG_QUALITY = 25


@dataclass
class Importance:
    """An importance map and where it came from."""

    values: np.ndarray  # float32 HxW in [0, 1], after shaping: what the codec sees
    region: np.ndarray  # bool HxW: the important region as given, before margins and feathering
    source: str  # "mask", "labels", "array"
    regions: dict[str, float] = field(default_factory=dict)  # protected class -> share of pixels


@dataclass
class CompressResult:
    """The encoded file and what it cost and kept. ``data`` is a complete file in ``format``."""

    data: bytes = field(repr=False)
    format: str
    width: int
    height: int
    roi_quality: int
    bg_quality: int
    important_fraction: float
    psnr_inside: float
    psnr_outside: float
    encode_seconds: float
    source: str
    uniform_size: float | None = None
    uniform_quality: float | None = None
    uniform_reached: bool | None = None
    uniform_reference: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def bpp(self) -> float:
        return bits_per_pixel(self.size, self.height, self.width)

    @property
    def saving(self) -> float | None:
        """Fraction of the uniform encode's bytes saved (0.6 = 60 % smaller), or None if not compared."""
        if self.uniform_size is None:
            return None
        return 1.0 - self.size / self.uniform_size

    def summary(self) -> dict[str, Any]:
        """Every figure as plain JSON-friendly values (no bytes); a NaN or infinite figure is None.

        (PSNR is NaN over an empty region and infinite for identical pixels: neither is valid JSON.)
        """
        values = {k: v for k, v in asdict(self).items() if k != "data"}
        values.update(size=self.size, bpp=self.bpp, saving=self.saving)
        return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in values.items()}


def build_importance(
    image: LoadedImage,
    *,
    importance: np.ndarray | None = None,
    mask: ImageSource | None = None,
    labels: ImageSource | None = None,
    policy: str | Policy = "default",
    margin: float | None = None,
    feather: float | None = None,
    min_area: float | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Importance:
    """The importance map for ``image`` from exactly one source: an array, a mask image or a label map.

    A label map holds segpress taxonomy indices (``segpress.taxonomy.CLASSES``) and goes through
    ``policy``; margins, feathering and the minimum region area default to the policy's values.
    """
    given = [name for name, value in (("importance", importance), ("mask", mask), ("labels", labels))
             if value is not None]
    if len(given) > 1:
        raise OptionError(f"give one importance source, not {' and '.join(given)}")
    if not given:
        raise OptionError(
            "no importance source: pass --mask FILE or --labels FILE "
            "(the default segmentation model is not shipped yet)"
        )
    chosen = policy if isinstance(policy, Policy) else load_policy(policy)
    size = (image.height, image.width)
    regions: dict[str, float] = {}
    if importance is not None:
        raw = imp.from_array(np.asarray(importance))
        if raw.shape != size:
            raise OptionError(
                f"importance array is {raw.shape[1]}x{raw.shape[0]} but the image is {image.width}x{image.height}"
            )
    elif mask is not None:
        raw = load_mask(mask, size=size, max_pixels=max_pixels)
    else:
        label_map = load_labels(labels, size=size, classes=len(CLASSES), max_pixels=max_pixels)
        raw = imp.from_labels(label_map, CLASSES, chosen)
        regions = imp.region_shares(label_map, CLASSES, chosen)
    shaped = imp.shape(
        raw,
        margin=chosen.margin if margin is None else margin,
        feather=chosen.feather if feather is None else feather,
        min_area=chosen.min_area if min_area is None else min_area,
    )
    source = "array" if given[0] == "importance" else given[0]  # as Importance.source documents
    return Importance(values=shaped, region=raw >= REGION_THRESHOLD, source=source, regions=regions)


def compress(
    image: ImageSource,
    *,
    importance: np.ndarray | None = None,
    mask: ImageSource | None = None,
    labels: ImageSource | None = None,
    policy: str | Policy = "default",
    format: str = "jpeg",
    roi_quality: int = DEFAULT_ROI_QUALITY,
    bg_quality: int = DEFAULT_BG_QUALITY,
    progressive: bool = True,
    subsampling: str = "4:2:0",
    strip: bool = False,
    keep_map: bool = False,
    margin: float | None = None,
    feather: float | None = None,
    min_area: float | None = None,
    compare: bool = True,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> CompressResult:
    """Compress ``image`` spending bytes where ``importance`` / ``mask`` / ``labels`` says it matters.

    Args:
        image: a path, encoded bytes, a uint8 array (HxW or HxWx3/4) or a PIL image.
        importance: float array in [0, 1] at image size (or bool / uint8), used as given.
        mask: a mask image (1-bit, 8-bit grey, or the alpha channel) at image size.
        labels: a label map in segpress taxonomy indices, weighted by ``policy``.
        format: a registered codec name (``segpress.codecs.names()``).
        roi_quality, bg_quality: quality (1..100) for importance 1 and importance 0.
        strip: drop ICC profile and EXIF (kept by default).
        keep_map: embed the downscaled importance map so ``segpress inspect`` can show it.
        compare: also find the uniform encode with the same PSNR inside (costs a few encodes).
    Returns:
        CompressResult with the file bytes and its statistics.
    """
    settings = encode_settings(roi_quality, bg_quality, progressive, subsampling)
    codec = codecs.get(format)
    loaded = load_image(image, max_pixels=max_pixels)
    chosen = build_importance(
        loaded, importance=importance, mask=mask, labels=labels, policy=policy,
        margin=margin, feather=feather, min_area=min_area, max_pixels=max_pixels,
    )
    base_metadata = Metadata() if strip else Metadata(icc_profile=loaded.icc_profile, exif=loaded.exif)
    metadata = base_metadata
    if keep_map:
        info = _map_info(codec.name, settings, chosen, loaded)
        metadata = Metadata(base_metadata.icc_profile, base_metadata.exif, embedded.pack(chosen.values, info))

    started = time.perf_counter()
    data = codec.encode(loaded.pixels, chosen.values, settings, metadata)
    seconds = time.perf_counter() - started

    decoded = codec.decode(data)
    result = CompressResult(
        data=data,
        format=codec.name,
        width=loaded.width,
        height=loaded.height,
        roi_quality=roi_quality,
        bg_quality=bg_quality,
        important_fraction=float(chosen.region.mean()),
        psnr_inside=psnr(loaded.pixels, decoded, chosen.region),
        psnr_outside=psnr(loaded.pixels, decoded, ~chosen.region),
        encode_seconds=seconds,
        source=chosen.source,
        notes=list(loaded.notes),
    )
    if compare and chosen.region.any():
        # The reference carries the same ICC/EXIF, so metadata does not count as a saving.
        match = match_uniform(codec, loaded.pixels, chosen.region, result.psnr_inside, settings, base_metadata)
        result.uniform_size = match.size
        result.uniform_quality = match.quality
        result.uniform_reached = match.reached
        result.uniform_reference = codec.uniform_reference
    return result


def encode_settings(roi_quality: int, bg_quality: int, progressive: bool, subsampling: str) -> EncodeSettings:
    """Checked codec settings; ``OptionError`` names the first bad value."""
    for name, value in (("roi quality", roi_quality), ("background quality", bg_quality)):
        if not 1 <= int(value) <= 100:
            raise OptionError(f"{name} must be within 1..100, got {value}")
    if bg_quality > roi_quality:
        raise OptionError(f"background quality {bg_quality} is above roi quality {roi_quality}")
    if subsampling not in SUBSAMPLINGS:
        raise OptionError(f"unknown chroma subsampling {subsampling!r}; choose {' or '.join(SUBSAMPLINGS)}")
    return EncodeSettings(int(roi_quality), int(bg_quality), bool(progressive), subsampling)


def _map_info(format: str, settings: EncodeSettings, chosen: Importance, image: LoadedImage) -> dict[str, Any]:
    return {
        "segpress": package_version("segpress"),
        "format": format,
        "width": image.width,
        "height": image.height,
        "roi_quality": settings.roi_quality,
        "bg_quality": settings.bg_quality,
        "source": chosen.source,
        "important_fraction": round(float(chosen.region.mean()), 4),
        "regions": {name: round(share, 4) for name, share in chosen.regions.items()},
    }
