"""Segmenters: class probabilities over the segpress taxonomy, from a network run with onnxruntime.

    pixels ─ Segmenter.segment ─ Segmentation: working probabilities (C, h, w), h, w <= max_side
        ├─ .labels (H, W) uint8 and .probabilities (C, H, W): resampled to the image on first use
        └─ importance.from_segmentation(policy) on (C, h, w): weighed and shaped at (h, w), then resampled
           to (H, W) (sources.build_importance)

Not torch: only onnxruntime runs here; torch is needed to train a model (``segpress.train``), never
to use one.

- :class:`Segmenter` is the interface (``name``, ``classes``, ``segment``, ``segment_batch``);
  :class:`OnnxSegmenter` runs any ONNX network described by a :class:`ModelConfig`.
- :func:`default_segmenter` is the model shipped in ``segpress/models/`` (``segmenter.onnx`` and
  its metadata ``segmenter.json``; ``MODEL_CARD.md`` there says what it was trained on and how well
  it does). It is loaded once per process.
- :func:`load_segmenter` reads a user model config (TOML or YAML; format in
  :mod:`segpress.segmenters.loading`) or an exported ``.onnx`` with its ``.json``.
- :mod:`segpress.segmenters.render` draws label maps and overlays (``segpress segment``).

A segmentation made elsewhere needs no segmenter: pass it to ``segpress compress`` as
``--labels FILE`` (a label map in taxonomy indices, e.g. what ``segpress segment`` writes) or, once
reduced to what matters, as ``--mask FILE``; no separate "mask segmenter" exists.
"""

from .base import UNLABELLED, Segmentation, Segmenter, resize_bilinear
from .loading import default_segmenter, describe_shipped, load_segmenter, resolve_segmenter
from .onnx import DEFAULT_MAX_SIDE, ModelConfig, OnnxSegmenter

__all__ = [
    "DEFAULT_MAX_SIDE", "UNLABELLED", "ModelConfig", "OnnxSegmenter", "Segmentation", "Segmenter",
    "default_segmenter", "describe_shipped", "load_segmenter", "resize_bilinear", "resolve_segmenter",
]
