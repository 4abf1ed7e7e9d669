"""Training data: augmentation and normalisation of the datasets ``segpress.datasets`` reads.

Augmentation (:class:`TrainTransform`) is numpy plus Pillow's resize; each sample's randomness comes
from a generator seeded by (seed, epoch, index), so a resumed run sees exactly the crops an
uninterrupted one would have seen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from segpress.datasets import Sample
from segpress.taxonomy import UNLABELLED

# torchvision's ImageNet statistics: the backbone's pretrained weights expect inputs normalised so.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


# --- augmentation and normalisation ---------------------------------------------------------------


def normalise(image: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 RGB -> float32 3xHxW with the ImageNet mean and standard deviation."""
    scaled = image.astype(np.float32) / np.float32(255)
    scaled -= np.asarray(IMAGENET_MEAN, dtype=np.float32)
    scaled /= np.asarray(IMAGENET_STD, dtype=np.float32)
    return np.ascontiguousarray(scaled.transpose(2, 0, 1))


@dataclass(frozen=True)
class TrainTransform:
    """Random scale, crop, horizontal flip, colour jitter; then padding up to ``crop_size``.

    ``crop_size`` is (height, width). Where the scaled image is smaller than the crop, the rest is
    the ImageNet mean colour (which normalises to 0) labelled ignore; padding comes after the jitter
    so that only real pixels are jittered.
    """

    crop_size: tuple[int, int]
    scale_range: tuple[float, float] = (0.5, 2.0)
    jitter: float = 0.25  # brightness, contrast and saturation factors drawn from 1 +- jitter

    def __call__(self, sample: Sample, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Normalised float32 3xHxW image and uint8 HxW labels, both of ``crop_size``."""
        image, labels = self._rescale(sample.image, sample.labels, rng.uniform(*self.scale_range))
        return self._crop(image, labels, UNLABELLED, rng)

    def taught(self, image: np.ndarray, target: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A photo and its teacher target (uint8 K x h x w, any lower resolution) through the same steps.

        Returns the normalised image and a float32 ``crop_size`` x K target (each pixel a distribution,
        or zeros where the teachers gave none and in the padding). The target is resized straight to
        the scaled photo's size, bilinearly: soft targets interpolate where label indices cannot.
        """
        scale = rng.uniform(*self.scale_range)
        height, width = image.shape[:2]
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
        resized = np.asarray(Image.fromarray(image).resize(size[::-1], Image.Resampling.BILINEAR))
        # Pillow resizes one float channel at a time ("F" mode); this module stays free of torch.
        soft = np.stack([
            np.asarray(Image.fromarray(channel.astype(np.float32) / 255).resize(size[::-1], Image.Resampling.BILINEAR))
            for channel in target
        ], axis=-1)
        return self._crop(resized, soft, 0, rng)

    def _crop(self, image: np.ndarray, labels: np.ndarray, fill: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        image, labels = self._window(image, labels, rng)
        if rng.random() < 0.5:
            image, labels = image[:, ::-1], labels[:, ::-1]
        image, labels = self._pad(self._jitter(image, rng), labels, fill, rng)
        return normalise(image), labels

    @staticmethod
    def _rescale(image: np.ndarray, labels: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
        height, width = labels.shape
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        resized = Image.fromarray(image).resize(size, Image.Resampling.BILINEAR)
        # Nearest neighbour: interpolating class indices would invent classes along boundaries.
        relabelled = Image.fromarray(labels).resize(size, Image.Resampling.NEAREST)
        return np.asarray(resized), np.asarray(relabelled)

    def _window(self, image: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A random part of at most ``crop_size``; smaller sides stay whole."""
        crop_height, crop_width = self.crop_size
        height, width = labels.shape[:2]
        top = int(rng.integers(0, max(height - crop_height, 0) + 1))
        left = int(rng.integers(0, max(width - crop_width, 0) + 1))
        window = np.s_[top : top + crop_height, left : left + crop_width]
        return image[window], labels[window]

    def _pad(
        self, image: np.ndarray, labels: np.ndarray, fill: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """The window placed at a random spot of a ``crop_size`` canvas of mean colour and ``fill`` labels."""
        crop_height, crop_width = self.crop_size
        height, width = labels.shape[:2]
        canvas = np.empty((crop_height, crop_width, 3), dtype=np.uint8)
        canvas[:] = np.rint(np.asarray(IMAGENET_MEAN) * 255).astype(np.uint8)
        label_canvas = np.full((crop_height, crop_width, *labels.shape[2:]), fill, dtype=labels.dtype)
        top = int(rng.integers(0, crop_height - height + 1))
        left = int(rng.integers(0, crop_width - width + 1))
        canvas[top : top + height, left : left + width] = image
        label_canvas[top : top + height, left : left + width] = labels
        return canvas, label_canvas

    def _jitter(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        brightness, contrast, saturation = rng.uniform(1 - self.jitter, 1 + self.jitter, size=3)
        pixels = image.astype(np.float32) * brightness
        grey = pixels @ _LUMA
        pixels = (pixels - grey.mean()) * contrast + grey.mean()
        grey = pixels @ _LUMA
        pixels = grey[..., None] + (pixels - grey[..., None]) * saturation
        return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
