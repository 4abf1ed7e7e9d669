"""The segmenter interface: pixels in, class probabilities over the taxonomy out.

A :class:`Segmentation` keeps the probabilities at the resolution the network ran at (the
*working* resolution, at most a few hundred thousand pixels) and resamples them to the image's
own size only when asked::

    working probabilities (C, h, w) ─┬─ .probabilities ─ bilinear ─ (C, H, W) float32
                                     ├─ .labels ─ bilinear + argmax, in strips of rows ─ (H, W) uint8
                                     ├─ .working_labels ─ argmax ─ (h, w) uint8 (class shares, cheaply)
                                     └─ .upsample(any (h, w) map) ─ bilinear ─ (H, W)

Bilinear resampling is linear, so a per-class weighting (``importance.from_probabilities``) gives
the same map whether it is applied before or after resampling; doing it before costs one channel
of resampling instead of C, and no (C, H, W) array is ever built for a 24-megapixel photo unless
``probabilities`` is read. Class shares for the importance map's description (``importance.region_shares``)
come from ``working_labels``: at 768x512 the full-size labels cost about twice the network's run, and
the shares they give differ from the working ones by the resampling at class borders only.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Sequence
from functools import cached_property

import numpy as np
from PIL import Image

from segpress.errors import InputError
from segpress.taxonomy import CLASSES, UNLABELLED

# Values resampled at once when building full-resolution maps: bounds the (C, rows, W) temporary to 2 MB,
# or _STRIP_ROWS rows where that is more (fewer, longer calls into Pillow for a wide picture).
_STRIP_VALUES = 1 << 19
_STRIP_ROWS = 16


def count_values(values: np.ndarray, minlength: int = 0) -> np.ndarray:
    """``np.bincount`` of non-negative integers, a strip at a time: bincount first copies its input as
    64-bit integers, 8 bytes per pixel of a full-size label map."""
    flat = np.asarray(values).reshape(-1)
    counts = np.zeros(minlength, np.int64)
    step = 1 << 20  # 8 MB of 64-bit integers at a time
    for start in range(0, flat.size, step):
        found = np.bincount(flat[start : start + step], minlength=minlength)
        if len(found) > len(counts):
            found[: len(counts)] += counts
            counts = found
        else:
            counts[: len(found)] += found
    return counts


def as_rgb(pixels: np.ndarray, user: str = "a segmenter") -> np.ndarray:
    """uint8 HxWx3 RGB from uint8 RGB or grey pixels; ``InputError`` naming ``user`` for anything else."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
        raise InputError(f"{user} takes uint8 HxW or HxWx3 pixels, not {pixels.dtype} of shape {pixels.shape}")
    if 0 in pixels.shape[:2]:
        raise InputError(f"image has no pixels ({pixels.shape[1]}x{pixels.shape[0]})")
    return np.repeat(pixels[..., None], 3, axis=2) if pixels.ndim == 2 else pixels


def resize_rgb(pixels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 RGB resized to (height, width); Pillow's bilinear filter antialiases when shrinking."""
    if pixels.shape[:2] == size:
        return pixels
    return np.asarray(Image.fromarray(pixels).resize((size[1], size[0]), Image.Resampling.BILINEAR))


def resize_bilinear(values: np.ndarray, height: int, width: int, rows: slice | None = None) -> np.ndarray:
    """Bilinear resampling of the last two axes of ``values`` to ``height`` x ``width`` (float32).

    Pillow's filter on float images, one channel at a time: plain bilinear with pixel centres
    aligned when enlarging (weights summing to 1, so probabilities keep summing to 1), an average
    over the covered pixels when shrinking. ``rows`` computes only those output rows (the same
    values as the full result's rows), so a large result can be built strip by strip.
    """
    values = np.asarray(values, dtype=np.float32)
    size_in = values.shape[-2:]
    top, bottom = (0, height) if rows is None else (rows.start or 0, min(rows.stop, height))
    if size_in == (height, width):  # the working size is the image's: nothing to resample
        return values[..., top:bottom, :].copy()
    scale = size_in[0] / height
    box = (0.0, top * scale, float(size_in[1]), bottom * scale)
    flat = values.reshape(-1, *size_in)
    out = np.empty((len(flat), bottom - top, width), np.float32)
    for index, channel in enumerate(flat):
        image = Image.fromarray(np.ascontiguousarray(channel), mode="F")
        out[index] = np.asarray(image.resize((width, bottom - top), Image.Resampling.BILINEAR, box=box))
    return out.reshape(*values.shape[:-2], bottom - top, width)


class Segmentation:
    """Class probabilities for one image over :data:`segpress.taxonomy.CLASSES`.

    ``working_probabilities`` (C, h, w) float32 is what the network gave at its working resolution,
    already mapped into the taxonomy. ``unknown`` (h, w), when not None, is the probability of the
    model's classes that map to no taxonomy class (a user model's "background", say); then the
    taxonomy probabilities sum to 1 - unknown.
    """

    classes: tuple[str, ...] = CLASSES

    def __init__(
        self,
        working_probabilities: np.ndarray,
        height: int,
        width: int,
        *,
        model: str,
        seconds: float = 0.0,
        unknown: np.ndarray | None = None,
    ) -> None:
        if working_probabilities.ndim != 3 or working_probabilities.shape[0] != len(CLASSES):
            raise ValueError(f"working probabilities must be ({len(CLASSES)}, h, w), got {working_probabilities.shape}")
        self.working_probabilities = working_probabilities.astype(np.float32, copy=False)
        self.unknown = unknown
        self.height, self.width = int(height), int(width)
        self.model = model
        self.seconds = seconds  # wall time of the segmenter for this image (its share of a batch)

    def __repr__(self) -> str:
        h, w = self.working_probabilities.shape[1:]
        return f"Segmentation({self.width}x{self.height}, model={self.model!r}, working {w}x{h})"

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width

    def upsample(self, values: np.ndarray) -> np.ndarray:
        """A map at the working resolution ((h, w) or (k, h, w)) resampled to the image's size (float32).

        Strip by strip, into the result: Pillow's own full-size image and its bytes are never there
        beside it (a 40-megapixel map took three times its size at once)."""
        out = np.empty((*values.shape[:-2], self.height, self.width), np.float32)
        step = max(_STRIP_ROWS, _STRIP_VALUES // max(1, self.width * math.prod(values.shape[:-2])))
        for top in range(0, self.height, step):
            rows = slice(top, min(top + step, self.height))
            out[..., rows, :] = resize_bilinear(values, self.height, self.width, rows)
        return out

    @cached_property
    def probabilities(self) -> np.ndarray:
        """(C, H, W) float32 at the image's resolution; 60 bytes per pixel, built on first use."""
        return self.upsample(self.working_probabilities)

    @cached_property
    def labels(self) -> np.ndarray:
        """(H, W) uint8 taxonomy indices: the most probable class per pixel (255 where ``unknown`` wins)."""
        stack = self._candidates()
        labels = np.empty((self.height, self.width), dtype=np.uint8)
        step = max(_STRIP_ROWS, _STRIP_VALUES // (self.width * len(stack)))
        for top in range(0, self.height, step):
            rows = slice(top, min(top + step, self.height))
            labels[rows] = resize_bilinear(stack, self.height, self.width, rows).argmax(axis=0)
        return self._named_unknown(labels)

    @cached_property
    def working_labels(self) -> np.ndarray:
        """(h, w) uint8 taxonomy indices at the working resolution (255 where ``unknown`` wins): class shares
        without resampling C probabilities to the image's size (what ``compress`` reports)."""
        return self._named_unknown(self._candidates().argmax(axis=0).astype(np.uint8))

    def _candidates(self) -> np.ndarray:
        """The working probabilities, with ``unknown`` as one more class after the taxonomy's."""
        if self.unknown is None:
            return self.working_probabilities
        return np.concatenate([self.working_probabilities, self.unknown[None]])

    def _named_unknown(self, labels: np.ndarray) -> np.ndarray:
        if self.unknown is not None:
            labels[labels == len(CLASSES)] = UNLABELLED
        return labels

    def shares(self) -> dict[str, float]:
        """Fraction of the pixels labelled with each class present, largest first (of ``labels``, the full-size
        map a user sees; ``compress`` takes its shares from ``working_labels``)."""
        counts = count_values(self.labels, minlength=256)
        names = {**dict(enumerate(CLASSES)), UNLABELLED: "unlabelled"}
        shares = {names[i]: float(counts[i] / self.labels.size) for i in names if counts[i]}
        return dict(sorted(shares.items(), key=lambda item: item[1], reverse=True))


class Segmenter(abc.ABC):
    """Gives class probabilities over the taxonomy for uint8 pixels (HxWx3 RGB or HxW grey).

    Subclasses implement :meth:`segment_batch`; a batch may be faster than one image at a time.
    """

    name: str = "segmenter"
    classes: tuple[str, ...] = CLASSES

    @abc.abstractmethod
    def segment_batch(self, images: Sequence[np.ndarray]) -> list[Segmentation]:
        """One :class:`Segmentation` per image, in order."""

    def segment(self, pixels: np.ndarray) -> Segmentation:
        return self.segment_batch([pixels])[0]
