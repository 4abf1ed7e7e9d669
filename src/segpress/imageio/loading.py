"""``load_image``, ``load_mask`` and ``load_labels``: any source to checked, upright numpy arrays."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TypeAlias

import numpy as np
from PIL import Image

from ..errors import InputError
from .decoding import decode
from .limits import DEFAULT_MAX_PIXELS, check_size
from .pixels import check_label_values, labels_from_pil, mask_from_pil, pixels_from_array, pixels_from_pil, unit_range


@dataclass
class LoadedImage:
    """Upright uint8 pixels (HxWx3 RGB or HxW grey, C-contiguous) and the metadata that still applies."""

    pixels: np.ndarray
    icc_profile: bytes | None
    exif: bytes | None
    name: str
    notes: list[str] = field(default_factory=list)

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def is_grey(self) -> bool:
        return self.pixels.ndim == 2


# A LoadedImage is taken as it is (decoded once, used twice: batch segments, then compresses).
ImageSource: TypeAlias = str | os.PathLike[str] | bytes | np.ndarray | Image.Image | LoadedImage


def load_image(
    source: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS, name: str | None = None
) -> LoadedImage:
    """Decode ``source`` into upright 8-bit RGB or grey pixels; ``segpress.imageio`` says the rules.

    ``name`` is what error messages and ``LoadedImage.name`` call the image (default: its path, or
    ``<bytes>``, ``<array>``, ``<image>`` for data without one).
    """
    if isinstance(source, LoadedImage):
        check_size(source.width, source.height, source.name, max_pixels)
        return source
    if isinstance(source, np.ndarray):
        notes: list[str] = []
        pixels = pixels_from_array(source, name or "<array>", max_pixels, notes)
        return LoadedImage(pixels, None, None, name or "<array>", notes)
    decoded = decode(source, max_pixels, name)
    pixels, icc_applies = pixels_from_pil(decoded.image, decoded.name, decoded.notes)
    icc = decoded.image.info.get("icc_profile") or None
    notes = list(dict.fromkeys(decoded.notes))  # a file may earn the same note twice (16-bit)
    return LoadedImage(
        np.ascontiguousarray(pixels), icc if icc_applies else None, decoded.exif, decoded.name, notes
    )


def load_mask(
    source: ImageSource, *, size: tuple[int, int], max_pixels: int = DEFAULT_MAX_PIXELS, name: str | None = None
) -> np.ndarray:
    """An importance mask as float32 HxW in [0, 1]; ``size`` is the image's (height, width)."""
    if isinstance(source, np.ndarray):
        name = name or "<array>"
        if source.ndim != 2:
            raise InputError(f"{name}: a mask array must be 2-D (height x width), not shape {source.shape}")
        check_size(source.shape[1], source.shape[0], name, max_pixels)
        mask = unit_range(source, name)
    else:
        decoded = decode(source, max_pixels, name)
        name = decoded.name
        mask = mask_from_pil(decoded.image, name)
    _check_same_size(mask.shape, size, name)
    return np.ascontiguousarray(mask, dtype=np.float32)


def load_labels(
    source: ImageSource, *, size: tuple[int, int], classes: int, max_pixels: int = DEFAULT_MAX_PIXELS,
    name: str | None = None,
) -> np.ndarray:
    """A label map of class indices (uint8, or int32 from 16-bit files) HxW; ``size`` is (height, width)."""
    if isinstance(source, np.ndarray):
        name = name or "<array>"
        if source.ndim != 2 or source.dtype.kind not in "ui":
            raise InputError(
                f"{name}: a label array must be 2-D integers, not {source.dtype} of shape {source.shape}"
            )
        check_size(source.shape[1], source.shape[0], name, max_pixels)
        labels = np.array(source, order="C")  # a copy: the caller's array must not alias ours
    else:
        decoded = decode(source, max_pixels, name)
        name = decoded.name
        labels = labels_from_pil(decoded.image, name)
    _check_same_size(labels.shape, size, name)
    check_label_values(labels, classes, name)
    return np.ascontiguousarray(labels)


def _check_same_size(shape: tuple[int, ...], size: tuple[int, int], name: str) -> None:
    height, width = shape
    if (height, width) != tuple(size):
        raise InputError(
            f"{name} is {width}x{height} but the image is {size[1]}x{size[0]} (width x height); "
            "it must have the image's size"
        )
