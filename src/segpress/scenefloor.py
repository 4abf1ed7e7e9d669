"""The scene floor: coarsen the background only as far as the picture keeps its content.

A region-adaptive file spends few bytes on the background; coarsened too far, a segmentation network no
longer sees the scene there (``segpress bench``'s task fidelity). The floor segments the decoded
candidate with the network and requires its labels to agree with the original's on at least a share
``threshold`` of the pixels, raising the background quality until they do::

    original ─ segment ─ working-size labels, kept where the network is >= CONFIDENCE sure (reference)
    candidate(bg) ─ encode ─ decode ─ segment ─ working-size labels ─ agreement with the reference
    bisection over the background quality in [bg, roi], reusing every encode: the lowest that agrees

Labels are compared at the network's working size (the decoded candidate is downscaled by the
segmenter, as the original was) and only where the original is confidently labelled: pixels the
network is unsure of flip at any quality and say nothing about the background's coarseness. One
segmentation of the file the caller made first when the floor already holds; at most
``MAX_PROBES`` more encodes and segmentations when it does not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from .codecs import Codec, EncodeSettings, Metadata
from .ratecontrol import decode_like
from .segmenters import Segmentation
from .taxonomy import UNLABELLED

# The probability from which the original's label counts. At 0.7 about 92 % of a CamVid frame's pixels
# count and a uniform JPEG at quality 85 keeps 98-100 % of their labels (at 0.5: 98 % count, 98-99 % kept).
CONFIDENCE = 0.7
# Encodes (and segmentations) the bisection may add to the first file: a quality step of 4 or less
# between the default background 25 and roi 85.
MAX_PROBES = 4

# Decoded pixels -> labels at the network's working size (``Segmentation.working_labels``).
Segment = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class SceneFloor:
    """The background quality the floor chose and what it kept."""

    data: bytes = field(repr=False)  # the file at ``settings``
    settings: EncodeSettings  # the caller's, with the background quality chosen
    threshold: float
    agreement: float  # the share of confidently labelled pixels whose label the file keeps
    reached: bool  # agreement >= threshold
    probes: int  # segmentations of candidates (1: the first file already held the floor)
    seconds: float  # the whole search: encodes, decodes and segmentations


def reference_labels(segmentation: Segmentation, confidence: float = CONFIDENCE) -> np.ndarray:
    """The original's ``working_labels``, ``UNLABELLED`` where no taxonomy class is ``confidence`` likely."""
    confident = segmentation.working_probabilities.max(axis=0) >= confidence
    return np.where(confident, segmentation.working_labels, np.uint8(UNLABELLED))


def agreement(labels: np.ndarray, reference: np.ndarray) -> float:
    """The share of the reference's labelled pixels where ``labels`` says the same (1.0 when none are)."""
    if labels.shape != reference.shape:
        raise ValueError(f"labels {labels.shape} and reference {reference.shape} differ in size")
    counted = reference != UNLABELLED
    total = int(counted.sum())
    return 1.0 if total == 0 else float(np.count_nonzero(labels[counted] == reference[counted]) / total)


def measure(codec: Codec, data: bytes, pixels: np.ndarray, segment: Segment, reference: np.ndarray) -> float:
    """The label agreement of one file with the reference."""
    return agreement(segment(decode_like(codec, data, pixels)), reference)


def raise_background(
    codec: Codec,
    pixels: np.ndarray,
    importance: np.ndarray,
    settings: EncodeSettings,
    *,
    segment: Segment,
    reference: np.ndarray,
    threshold: float,
    metadata: Callable[[EncodeSettings], Metadata] = lambda _: Metadata(),
    first: bytes | None = None,
    ceiling: float | None = None,
) -> SceneFloor:
    """The lowest background quality in [``settings.bg_quality``, ``settings.roi_quality``] whose file
    keeps at least ``threshold`` of the reference's labels, by bisection on the codec's grid.

    ``first``: the file at ``settings`` when the caller made it already (not encoded again).
    ``metadata``: what each candidate carries (it may describe the qualities, as ``--keep-map`` does).
    ``ceiling``: a lower top of the range (``settings.bg_quality``: only measure the first file, as under
    a byte budget).
    Agreement is taken to grow with the background quality (nearly so: the network's labels are not
    exactly monotone). When even the top of the range falls short the file at the top (the roi quality:
    the most the background can get without touching the region) is returned with ``reached`` False.
    """
    started = time.perf_counter()
    step = codec.bg_quality_step
    files: dict[float, bytes] = {}
    agreements: dict[float, float] = {}

    def probe(quality: float) -> float:
        if quality not in files:
            chosen = replace(settings, bg_quality=quality)
            if quality == settings.bg_quality and first is not None:
                files[quality] = first
            else:
                files[quality] = codec.encode(pixels, importance, chosen, metadata(chosen))
        if quality not in agreements:
            agreements[quality] = measure(codec, files[quality], pixels, segment, reference)
        return agreements[quality]

    low = settings.bg_quality
    high = settings.roi_quality if ceiling is None else max(min(ceiling, settings.roi_quality), low)
    if probe(low) < threshold and high > low:
        while len(agreements) <= MAX_PROBES and not _adjacent(low, high, step):
            middle = _on_grid((low + high) / 2, step)
            if probe(middle) >= threshold:
                high = middle
            else:
                low = middle
        low = high  # the lowest quality known (or, the roi quality, taken) to hold the floor
    value = probe(low)
    return SceneFloor(
        data=files[low],
        settings=replace(settings, bg_quality=low),
        threshold=threshold,
        agreement=value,
        reached=value >= threshold,
        probes=len(agreements),
        seconds=time.perf_counter() - started,
    )


def _on_grid(quality: float, step: float) -> float:
    """The nearest quality the codec distinguishes (whole numbers stay int, as the options give them)."""
    if step <= 0:
        return round(quality, 2)
    on_grid = round(quality / step) * step
    return int(on_grid) if float(step).is_integer() else on_grid


def _adjacent(low: float, high: float, step: float) -> bool:
    return high - low <= (step if step > 0 else 1.0) * 1.0001
