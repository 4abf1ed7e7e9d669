"""``TextDetector``: a text network (the shipped student by default) run by onnxruntime (on tiles for
large working images), and ``TextDetection``, what it finds at the image's resolution."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import cached_property
from os import fspath
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..errors import InputError, OptionError
from ..segmenters.base import as_rgb, resize_bilinear
from ..segmenters.onnx import open_session, tile_starts
from .models import TextNetwork, student_network
from .network import DEFAULT_MAX_SIDE, STRIDE, _network_input, _resize, working_size
from .regions import Box, _scale_boxes, text_lines

# The network runs on tiles of at most this side (working pixels): its memory grows with the working
# image (PP-OCR: +180 MB at 1600x1216, +650 MB at 3008x2240; the student on a 2880x2160 working image:
# 986 MB peak in one piece, 413 MB in tiles of 1024, 497 MB in tiles of 1536 for 7-9 % less time).
TILE_SIDE = 1024
TILE_OVERLAP = 128  # working pixels shared by neighbouring tiles; each keeps half


@dataclass
class TextDetection:
    """Where an image holds text, at the image's resolution.

    ``regions`` (H, W) bool is what importance uses: 1 inside each detected text line (grown to its
    full extent), 0 elsewhere. ``probability`` is the network's own per-pixel text probability,
    resampled to the image (the cores of lines; built on first use). ``boxes`` are the bounding boxes
    of the lines, in image pixels, top to bottom.
    """

    working_probability: np.ndarray  # (h, w) float32, at the working resolution
    working_regions: np.ndarray  # (h, w) bool
    working_boxes: list[Box]  # one per line, at the working resolution
    height: int
    width: int
    seconds: float = 0.0
    regions: np.ndarray = field(init=False, repr=False)
    boxes: list[Box] = field(init=False)

    def __post_init__(self) -> None:
        # Nearest neighbour: steps of under 2 pixels at the edges, finer than a JPEG block, 6x faster than
        # a bilinear filter thresholded halfway.
        working = Image.fromarray(self.working_regions)
        self.regions = np.asarray(working.resize((self.width, self.height), Image.Resampling.NEAREST))
        self.boxes = _scale_boxes(self.working_boxes, self.working_regions.shape, self.height, self.width)

    @cached_property
    def probability(self) -> np.ndarray:
        """(H, W) float32 in [0, 1]: the DB network's text probability at the image's resolution."""
        return np.clip(resize_bilinear(self.working_probability, self.height, self.width), 0.0, 1.0)

    @property
    def share(self) -> float:
        """Fraction of the image's pixels inside text regions."""
        return float(self.regions.mean()) if self.regions.size else 0.0

    def summary(self) -> dict[str, Any]:
        return {"share": self.share, "boxes": [list(box) for box in self.boxes], "seconds": self.seconds}


class TextDetector:
    """A text network run by onnxruntime on the CPU; the session is made once and reused."""

    def __init__(
        self,
        network: TextNetwork | None = None,
        *,
        scale: float | None = None,
        max_side: int = DEFAULT_MAX_SIDE,
        threads: int | None = None,
        tile_side: int = TILE_SIDE,
        threshold: float | None = None,
        unclip_ratio: float | None = None,
    ) -> None:
        """``network``: None for the shipped student (``student_network``), or e.g. ``ppocr_network()``;
        ``scale``, ``threshold`` and ``unclip_ratio`` default to the network's own."""
        self.network = network or student_network()
        self.scale = self.network.scale if scale is None else scale
        if not (math.isfinite(self.scale) and 0 < self.scale <= 4):
            raise OptionError(f"text detection scale must be in (0, 4], got {self.scale}")
        if max_side < STRIDE:
            raise OptionError(f"text detection max_side must be at least {STRIDE}, got {max_side}")
        self.max_side = max_side
        if tile_side % STRIDE or tile_side < 2 * TILE_OVERLAP:
            raise OptionError(f"text detection tile_side must be a multiple of {STRIDE} of at least {2 * TILE_OVERLAP}, got {tile_side}")
        self.tile_side = tile_side
        self.threshold = self.network.threshold if threshold is None else threshold
        self.unclip_ratio = self.network.unclip_ratio if unclip_ratio is None else unclip_ratio
        if not self.path.is_file():
            raise OptionError(f"text detector model not found: {self.path}")
        # Idle threads sleep instead of spinning: beside other busy processes on 2 cores, spinning threads
        # doubled the wall time (measured: 114 vs 71 ms/MP); alone, the difference is small.
        self._session = open_session(self.path, threads, spinning=False)
        self._input = self._session.get_inputs()[0].name

    @property
    def name(self) -> str:
        return self.network.name

    @property
    def path(self) -> Path:
        return self.network.path

    def __repr__(self) -> str:
        return f"TextDetector({self.name!r}, {fspath(self.path)!r}, scale={self.scale}, max_side={self.max_side})"

    def working_size(self, height: int, width: int) -> tuple[int, int]:
        """(h, w) the network runs at: ``scale`` times the image, longer side <= ``max_side``, multiples of 32."""
        return working_size(height, width, self.scale, self.max_side)

    def detect(self, pixels: np.ndarray) -> TextDetection:
        """Text regions of uint8 pixels (HxWx3 RGB or HxW grey) of any size."""
        started = time.perf_counter()
        rgb = as_rgb(pixels, "text detection")
        height, width = rgb.shape[:2]
        size = self.working_size(height, width)
        probability = self._probability(rgb, size)
        regions, boxes = text_lines(probability, threshold=self.threshold, unclip_ratio=self.unclip_ratio)
        detection = TextDetection(probability, regions, boxes, height, width)
        detection.seconds = time.perf_counter() - started
        return detection

    def _probability(self, rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """The network's text probability at ``size``; a working image with a side over ``tile_side`` runs
        as overlapping tiles, each keeping the part nearer its own centre than its neighbours'."""
        if max(size) <= self.tile_side:
            return self._run(_network_input(rgb, size))
        working = rgb if rgb.shape[:2] == size else _resize(rgb, size, Image.Resampling.BILINEAR)
        probability = np.empty(size, np.float32)
        for rows, tile_rows in _tiles(size[0], self.tile_side):
            for cols, tile_cols in _tiles(size[1], self.tile_side):
                tile = self._run(_network_input(np.ascontiguousarray(working[tile_rows, tile_cols]), (
                    tile_rows.stop - tile_rows.start, tile_cols.stop - tile_cols.start)))
                probability[rows, cols] = tile[rows.start - tile_rows.start : rows.stop - tile_rows.start,
                                               cols.start - tile_cols.start : cols.stop - tile_cols.start]
        return probability

    def _run(self, tensor: np.ndarray) -> np.ndarray:
        try:
            (output,) = self._session.run(None, {self._input: tensor})
        except Exception as error:  # onnxruntime raises its own types
            raise InputError(f"{self.path.name}: the text detector failed on a {tensor.shape} input ({error})") from error
        return np.ascontiguousarray(output[0, 0], dtype=np.float32)


def _tiles(length: int, tile: int) -> list[tuple[slice, slice]]:
    """(kept, run) slices along one side of ``length``: tiles of ``tile`` (a multiple of 32) overlapping by at
    least TILE_OVERLAP; each keeps up to the middle of its overlaps, so every kept pixel has at least half
    the overlap of context on each inner side."""
    count = max(1, math.ceil((length - TILE_OVERLAP) / (tile - TILE_OVERLAP)))
    # The fewest tiles of at most ``tile``, each as short as they allow: less overlap to run twice.
    tile = min(tile, math.ceil((length + (count - 1) * TILE_OVERLAP) / count / STRIDE) * STRIDE)
    starts = tile_starts(length, tile, TILE_OVERLAP)
    cuts = [0, *((start + tile + following) // 2 for start, following in zip(starts, starts[1:])), length]
    return [(slice(cuts[i], cuts[i + 1]), slice(start, min(length, start + tile))) for i, start in enumerate(starts)]
