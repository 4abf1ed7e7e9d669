"""What one training step sees: a batch of labelled crops and, when photos are taught, a batch of photos.

    labelled samples ─ seeded order ─┐
                                     ├─ step k: (images, labels) + (photo images, soft targets)
    taught photos   ─ seeded order ──┘

An epoch has as many steps as the larger source needs to be seen once (``batch_size`` of each per
step); the smaller source starts over when it runs out. Each source's order comes from a generator
seeded by (seed, epoch, source, pass) and each crop's augmentation from one seeded by (seed, epoch,
source, position), so a step's content depends on nothing but its numbers: steps can be built in
worker processes (``loader_workers``) in any order, and a resumed run sees what an uninterrupted one
would have seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from segpress.datasets import SegmentationDataset
from segpress.train.data import TrainTransform
from segpress.train.photos import TaughtPhoto

LABELLED, PHOTOS = 0, 1  # source numbers in the seeds


@dataclass(frozen=True)
class Step:
    """One step's tensors; the photo part is None when no photos are taught."""

    images: torch.Tensor  # B x 3 x H x W, normalised
    labels: torch.Tensor  # B x H x W int64, 255 = ignore
    photo_images: torch.Tensor | None = None
    photo_targets: torch.Tensor | None = None  # B x K x H x W, each pixel a distribution or zeros


class EpochSteps(torch.utils.data.Dataset):
    """The steps of one epoch, ``steps[k]`` built on demand (a torch Dataset, so a DataLoader can fan out)."""

    def __init__(
        self, labelled: SegmentationDataset, photos: Sequence[TaughtPhoto], transform: TrainTransform,
        *, batch_size: int, seed: int, epoch: int,
    ) -> None:
        self.labelled, self.photos, self.transform = labelled, photos, transform
        self.batch_size, self.seed, self.epoch = batch_size, seed, epoch
        self.steps = steps_per_epoch(len(labelled), len(photos), batch_size)
        count = self.steps * batch_size
        self._labelled_order = _order(len(labelled), count, seed, epoch, LABELLED)
        self._photo_order = _order(len(photos), count, seed, epoch, PHOTOS) if photos else None

    def __len__(self) -> int:
        return self.steps

    def __getitem__(self, step: int) -> Step:
        positions = range(step * self.batch_size, (step + 1) * self.batch_size)
        pairs = [
            self.transform(self.labelled[int(self._labelled_order[p])], self._rng(LABELLED, p)) for p in positions
        ]
        images, labels = _stack(pairs)
        if self._photo_order is None:
            return Step(images, labels.long())
        taught = [
            self.transform.taught(photo.image, photo.target, self._rng(PHOTOS, p))
            for photo, p in ((self.photos[int(self._photo_order[p])], p) for p in positions)
        ]
        photo_images, targets = _stack(taught)
        return Step(images, labels.long(), photo_images, targets.permute(0, 3, 1, 2).contiguous())

    def _rng(self, source: int, position: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, source, position])


def steps_per_epoch(labelled: int, photos: int, batch_size: int) -> int:
    return max(labelled, photos) // batch_size


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy against soft targets, averaged over the target mass (zero-target pixels cost nothing)."""
    mass = targets.sum()
    return -(targets * F.log_softmax(logits.float(), dim=1)).sum() / mass.clamp_min(1.0)


def _order(size: int, count: int, seed: int, epoch: int, source: int) -> np.ndarray:
    """``count`` indices into a source of ``size``: whole seeded permutations, one after another."""
    passes = -(-count // size)
    return np.concatenate([
        np.random.default_rng([seed, epoch, source, k]).permutation(size) for k in range(passes)
    ])[:count]


def _stack(pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.from_numpy(np.stack([image for image, _ in pairs]))
    second = torch.from_numpy(np.stack([np.ascontiguousarray(other) for _, other in pairs]))
    return images, second
