"""What a bench run measures: formats, the quality sweep, the policy, the segmenter, the labels.

The sweep (the same for every format, on its own 1-100 quality scale)::

    uniform   quality Q                                   codec.encode_uniform
    semantic  roi quality Q, background min(bg, Q)        codec.encode with the model's importance map

A semantic point is the file ``compress`` writes at those qualities: with ``fallback`` (the default, as in
``compress``) the uniform file replaces the region-adaptive one where that is not smaller than the uniform
encode with its PSNR inside (``bench.fallback``); ``fallback=False`` (``--no-fallback``) keeps the adaptive
file everywhere.

The background stays at ``--bg-quality`` (25, segpress's default) while the roi quality moves: what
a user changes is the quality of what matters, and the background's cost and look stay those of
the default. This is the sweep of ``benchmarks/jpeg_roi.py`` and ``pixel_codecs.py``, so the curves
compare with theirs.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segpress import codecs
from segpress.codecs import EncodeSettings
from segpress.codecs.base import DEFAULT_BG_QUALITY, DEFAULT_ROI_QUALITY, DEFAULT_SUBSAMPLING
from segpress.datasets import LabelSet, folder_label_set
from segpress.errors import OptionError
from segpress.imageio import DEFAULT_MAX_PIXELS
from segpress.policy import Policy, load_policy

MODES = ("uniform", "semantic")
# Five pixel codecs that each decode differently, and JPEG on libjpeg-turbo alone ("jpeg-turbo"): "jpeg"
# is jpegli underneath where installed, so its uniform curve is uniform jpegli and "jpeg-turbo"'s the
# plain libjpeg-turbo a user would otherwise reach for; both are baselines. "jxl" (the lossless transcode
# of the region-adaptive JPEG: JPEG's pixels at fewer bytes) is available with --formats.
DEFAULT_FORMATS = ("jpeg", "webp", "avif", "jxl-pixels", "j2k", "jpeg-turbo")
DEFAULT_QUALITIES = (50, 60, 70, 80, 90, 95)
SUBSAMPLING = DEFAULT_SUBSAMPLING
PROGRESSIVE = True  # progressive JPEG (smaller), as compress writes by default
MIN_QUALITIES = 4  # a cubic BD-rate fit needs four points


@dataclass(frozen=True)
class Labels:
    """Ground truth: a folder of ``<image stem>.png`` label maps and how their values read."""

    folder: Path
    classes: Path
    mapping: Path | None
    label_set: LabelSet

    @classmethod
    def load(cls, folder: Path, classes: Path, mapping: Path | None) -> Labels:
        if not folder.is_dir():
            raise OptionError(f"--labels {folder}: no such folder")
        return cls(folder, classes, mapping, folder_label_set(classes, mapping))

    def describe(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder), "classes_file": str(self.classes),
            "mapping_file": None if self.mapping is None else str(self.mapping),
            "classes": list(self.label_set.classes), "ignore": list(self.label_set.ignore),
            "mapping": dict(self.label_set.mapping),
        }


@dataclass(frozen=True)
class BenchSettings:
    """Everything that decides a measurement (and so the cache key), checked on creation."""

    formats: tuple[str, ...] = DEFAULT_FORMATS
    qualities: tuple[int, ...] = DEFAULT_QUALITIES
    bg_quality: int = DEFAULT_BG_QUALITY
    policy: str = "default"  # preset name or file
    segmenter: str | None = None  # model config or .onnx; None: the shipped model
    labels: Labels | None = None
    max_pixels: int = DEFAULT_MAX_PIXELS
    fallback: bool = True  # compress's fallback to the uniform file (--no-fallback: the adaptive file always)

    def __post_init__(self) -> None:
        if not self.formats:
            raise OptionError("--formats: give at least one format")
        for name in self.formats:
            codecs.get(name)  # OptionError for an unknown or missing codec
        if len(set(self.formats)) != len(self.formats):
            raise OptionError("--formats: each format once")
        if len(set(self.qualities)) < MIN_QUALITIES:
            raise OptionError(f"--qualities: give at least {MIN_QUALITIES} different qualities (BD-rate fits a cubic)")
        for quality in (*self.qualities, self.bg_quality):
            if not 1 <= quality <= 100:
                raise OptionError(f"qualities must lie within 1..100, got {quality}")
        if self.max_pixels < 1:
            raise OptionError(f"--max-pixels must be at least 1, got {self.max_pixels}")
        object.__setattr__(self, "qualities", tuple(sorted(set(self.qualities))))
        _policy(self.policy)  # OptionError for an unknown preset or a bad policy file, before any image

    @property
    def policy_object(self) -> Policy:
        return _policy(self.policy)

    def encode_settings(self, quality: int, mode: str) -> EncodeSettings:
        background = min(self.bg_quality, quality) if mode == "semantic" else quality
        return EncodeSettings(quality, background, PROGRESSIVE, SUBSAMPLING)

    @property
    def report_quality(self) -> int:
        """The sweep quality nearest segpress's default roi quality: the operating point of the tables."""
        return min(self.qualities, key=lambda quality: (abs(quality - DEFAULT_ROI_QUALITY), -quality))

    @functools.cached_property
    def segmenter_identity(self) -> dict[str, Any]:
        """Name and SHA-256 of the model file: a retrained model must not reuse cached measurements."""
        from segpress.segmenters import default_segmenter, load_segmenter

        model = default_segmenter() if self.segmenter is None else load_segmenter(self.segmenter)
        digest = hashlib.sha256(Path(model.path).read_bytes()).hexdigest()
        return {"name": model.name, "path": str(model.path), "sha256": digest}

    def policy_identity(self) -> dict[str, Any]:
        policy = self.policy_object
        return {
            "name": policy.name, "default": policy.default, "weights": dict(policy.weights),
            "margin": policy.margin, "feather": policy.feather, "min_area": policy.min_area,
            "sources": dict(policy.sources),
        }

    def describe(self) -> dict[str, Any]:
        """The settings as the results file records them."""
        return {
            "formats": list(self.formats),
            "qualities": list(self.qualities),
            "bg_quality": self.bg_quality,
            "semantic_sweep": f"roi quality Q, background quality min({self.bg_quality}, Q)",
            "fallback": self.fallback,
            "uniform_sweep": "quality Q everywhere (codec.encode_uniform)",
            "report_quality": self.report_quality,
            "subsampling": SUBSAMPLING,
            "progressive": PROGRESSIVE,
            "metadata": "none (ICC profile and EXIF stripped: pixels only)",
            "policy": self.policy_identity(),
            "segmenter": self.segmenter_identity,
            "judge": "labels" if self.labels is not None else "model",
            "labels": None if self.labels is None else self.labels.describe(),
            "max_pixels": self.max_pixels,
        }


def parse_list(text: str, option: str) -> tuple[str, ...]:
    """``"a,b, c"`` -> ("a", "b", "c")."""
    items = tuple(item.strip() for item in text.split(",") if item.strip())
    if not items:
        raise OptionError(f"{option}: give a comma-separated list")
    return items


def parse_qualities(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(item) for item in parse_list(text, "--qualities"))
    except ValueError:
        raise OptionError(f"--qualities: whole numbers 1-100, comma-separated, not {text!r}") from None


@functools.lru_cache(maxsize=8)
def _policy(name_or_path: str) -> Policy:
    """Loaded once per process (each worker loads its own: a Policy holds read-only mappings, not picklable)."""
    return load_policy(name_or_path)
