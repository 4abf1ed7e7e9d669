"""Measuring one image: every format, both modes, the whole quality sweep. Runs in a worker process.

    image ─ segmenter (once) ─┬─ importance map (policy, margins, feathering) ─ the semantic mode's encodes
                              └─ labels on the original ─ task fidelity reference
    ground-truth labels | the model's classes ─ policy weights ─ the judge: region (weight >= 0.5)
    for each format, mode, quality: encode ─ decode ─ quality over whole / region / background,
                                    importance-weighted PSNR, segmenter on the decoded image
    semantic points: compress's fallback to uniform (fallback.check): the file a user at defaults gets

The region that PSNR "inside" is measured on comes from the ground truth when the run has labels, so
the model's mistakes cost what they cost (a missed car is coded as background and judged as a car);
without labels it is the model's own segmentation of the original. Each format's record goes to the
cache as soon as it is complete.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from segpress import codecs
from segpress import importance as imp
from segpress.api import REGION_THRESHOLD, Importance, build_importance, model_importance
from segpress.codecs import Metadata
from segpress.datasets import load_label_map
from segpress.errors import InputError, SegpressError
from segpress.evaluation import confusion_matrix
from segpress.imageio import LoadedImage, load_image
from segpress.metrics import bits_per_pixel
from segpress.ratecontrol import decode_like
from segpress.segmenters import Segmenter, default_segmenter, load_segmenter
from segpress.taxonomy import CLASSES

from .cache import RECORD_SCHEMA, Cache
from .fallback import UniformFiles, check
from .inputs import Failure, ImageInput
from .quality import WINDOW, MsSsim, region_quality
from .settings import BenchSettings

# Confusion matrices have one more column than the taxonomy: pixels a user model leaves unlabelled.
CONFUSION_SIZE = len(CLASSES) + 1


@dataclass(frozen=True)
class ImageJob:
    """What a worker measures for one image: the formats not yet cached, under their cache keys."""

    image: ImageInput
    keys: dict[str, str]  # format -> cache key
    settings: BenchSettings
    cache_folder: Path | None
    threads: int | None = None  # onnxruntime threads of this worker's segmenter


@dataclass
class ImageResult:
    name: str
    records: list[dict[str, Any]]
    failure: Failure | None = None


@dataclass
class Judge:
    """Where quality is judged: ``region`` (bool), ``weights`` (the importance per pixel), ``truth`` labels."""

    source: str  # "labels" or "model"
    weights: np.ndarray
    region: np.ndarray
    truth: np.ndarray | None


@functools.lru_cache(maxsize=2)
def worker_segmenter(path: str | None, threads: int | None) -> Segmenter:
    """The segmentation model, loaded once per worker process."""
    return default_segmenter(threads) if path is None else load_segmenter(path, threads=threads)


def measure_job(job: ImageJob) -> ImageResult:
    """Every missing format of one image; a bad file becomes the result's ``failure``, never an exception."""
    path = str(job.image.path)
    try:
        loaded = load_image(job.image.path, max_pixels=job.settings.max_pixels)
        _check_size(loaded)
    except SegpressError as error:
        return ImageResult(job.image.name, [], Failure(path, "input", str(error)))
    try:
        truth = load_truth(job.image.labels, loaded, job.settings)
    except SegpressError as error:
        return ImageResult(job.image.name, [], Failure(path, "labels", str(error)))
    try:
        return ImageResult(job.image.name, list(_measure(job, loaded, truth)))
    except Exception as error:  # noqa: BLE001 - one failing image (a codec error, say) must not end the run
        return ImageResult(job.image.name, [], Failure(path, "measure", f"{type(error).__name__}: {error}"))


def _check_size(loaded: LoadedImage) -> None:
    if min(loaded.height, loaded.width) < WINDOW:
        raise InputError(f"{loaded.name}: {loaded.width}x{loaded.height} is too small: the bench needs "
                         f"{WINDOW} pixels a side (the SSIM window)")


def load_truth(labels: Path | None, loaded: LoadedImage, settings: BenchSettings) -> np.ndarray | None:
    """The ground-truth taxonomy labels of an image, or None in a run without labels."""
    if labels is None:
        return None
    return load_label_map(labels, loaded.pixels.shape[:2], settings.labels.label_set)


@dataclass
class Prepared:
    """An image ready to sweep: the semantic mode's importance (with the model's segmentation) and the judge."""

    chosen: Importance
    judge: Judge


def prepare(loaded: LoadedImage, truth: np.ndarray | None, settings: BenchSettings, threads: int | None) -> Prepared:
    policy = settings.policy_object
    chosen = build_importance(loaded, segmenter=worker_segmenter(settings.segmenter, threads), policy=policy)
    # The judge is the model's expected weight whatever the policy's map rule, so that map rules are
    # compared on the same region.
    model_weights = model_importance(chosen.segmentation, policy, rule="expected")
    if truth is None:
        judge = Judge("model", model_weights, model_weights >= REGION_THRESHOLD, None)
    else:
        weights = imp.from_labels(truth, CLASSES, policy)
        judge = Judge("labels", weights, weights >= REGION_THRESHOLD, truth)
    return Prepared(chosen, judge)


def _measure(job: ImageJob, loaded: LoadedImage, truth: np.ndarray | None) -> Iterator[dict[str, Any]]:
    settings = job.settings
    prepared = prepare(loaded, truth, settings, job.threads)
    chosen, judge, segmentation = prepared.chosen, prepared.judge, prepared.chosen.segmentation
    segmenter = worker_segmenter(settings.segmenter, job.threads)
    original_labels = segmentation.labels
    pixels = loaded.pixels
    quality = MsSsim(pixels, {"roi": judge.region, "background": ~judge.region})
    cache = Cache(job.cache_folder) if job.cache_folder is not None else None
    base = {
        "schema": RECORD_SCHEMA,
        "image": {"name": job.image.name, "path": str(job.image.path), "sha256": job.image.sha256,
                  "width": loaded.width, "height": loaded.height, "channels": 1 if pixels.ndim == 2 else 3},
        "labels": None if job.image.labels is None else {"path": str(job.image.labels),
                                                         "sha256": job.image.labels_sha256},
        "judge": judge.source,
        "region_fraction": float(judge.region.mean()),
        "importance_mean": float(chosen.values.mean()),
        "segment_s": segmentation.seconds,
        "confusion_original": None if truth is None else _confusion(truth, original_labels),
        "ms_ssim_scales": quality.scales,
    }
    sweep = Sweep(pixels, chosen, judge, quality, segmenter, original_labels, settings)
    for format, key in job.keys.items():
        codec = codecs.get(format)
        record = {**base, "key": key, "format": format, "codec_version": codec.version(),
                  "points": sweep.points(codec)}
        if cache is not None:
            cache.save(record)
        yield record


@dataclass
class Sweep:
    """One image's quality sweep in one format at a time: the uniform files, then the semantic ones.

    A semantic point is the file ``compress`` writes at those qualities: the region-adaptive file, or, where
    the fallback fires (``settings.fallback``), the uniform file that replaces it (``fallback.check``), with
    the adaptive file's own point under ``"adaptive"``. ``"fallback"``: True, False, or None when not checked
    (``--no-fallback``, or no important region).
    """

    pixels: np.ndarray
    chosen: Importance
    judge: Judge
    ms_ssim: MsSsim
    segmenter: Segmenter
    original_labels: np.ndarray
    settings: BenchSettings

    def points(self, codec: codecs.Codec) -> dict[str, list[dict[str, Any]]]:
        files = UniformFiles(codec, self.pixels)
        uniform = {q: self._uniform_point(codec, files, q) for q in self.settings.qualities}
        semantic = [self._semantic_point(codec, files, uniform, q) for q in self.settings.qualities]
        return {"uniform": [uniform[q] for q in self.settings.qualities], "semantic": semantic}

    def _uniform_point(self, codec: codecs.Codec, files: UniformFiles, quality: int) -> dict[str, Any]:
        data, seconds = files.timed(quality, self.settings.encode_settings(quality, "uniform"))
        return {"quality": quality, "bg_quality": quality, **self._measure_file(codec, data)[1], "encode_s": seconds}

    def _semantic_point(self, codec: codecs.Codec, files: UniformFiles, uniform: dict[int, dict[str, Any]],
                        quality: int) -> dict[str, Any]:
        encode = self.settings.encode_settings(quality, "semantic")
        started = time.perf_counter()
        data = codec.encode(self.pixels, self.chosen.values, encode, Metadata())
        seconds = time.perf_counter() - started
        decoded, measured = self._measure_file(codec, data)
        adaptive = {"quality": quality, "bg_quality": encode.bg_quality, **measured, "encode_s": seconds}
        found = None
        if self.settings.fallback:
            found = check(codec, self.pixels, self.chosen.region, data, decoded, encode, files)
        if found is None:
            return {**adaptive, "fallback": None}
        if found.written is None:
            return {**adaptive, "fallback": False, "check": found.describe()}
        written, written_quality = found.written
        if written_quality not in uniform:  # a quality between the sweep's: measured once, kept for other points
            uniform_encode = self.settings.encode_settings(written_quality, "uniform")
            uniform[written_quality] = {
                "quality": written_quality, **self._measure_file(codec, written)[1],
                "encode_s": files.timed(written_quality, uniform_encode)[1]}
        measured = {k: v for k, v in uniform[written_quality].items() if k not in ("quality", "bg_quality", "encode_s")}
        return {"quality": quality, "bg_quality": encode.bg_quality, **measured, "encode_s": seconds,
                "fallback": True, "written_quality": written_quality, "check": found.describe(), "adaptive": adaptive}

    def _measure_file(self, codec: codecs.Codec, data: bytes) -> tuple[np.ndarray, dict[str, Any]]:
        """One file's size, quality over the judge's regions, decode time and the segmenter on it."""
        started = time.perf_counter()
        decoded = decode_like(codec, data, self.pixels)
        decode_seconds = time.perf_counter() - started
        segmentation = self.segmenter.segment(decoded)
        predicted = segmentation.labels
        height, width = self.pixels.shape[:2]
        judge = self.judge
        return decoded, {
            "bytes": len(data),
            "bpp": bits_per_pixel(len(data), height, width),
            **region_quality(self.pixels, decoded, judge.region, judge.weights, self.ms_ssim),
            "decode_s": decode_seconds,
            "segment_s": segmentation.seconds,
            "confusion_truth": None if judge.truth is None else _confusion(judge.truth, predicted),
            "confusion_original": _confusion(self.original_labels, predicted),
        }


def _confusion(reference: np.ndarray, predicted: np.ndarray) -> list[list[int]]:
    """[reference class, predicted class] counts; reference 255 is left out, predicted 255 is the last column."""
    predicted = np.where(predicted >= len(CLASSES), len(CLASSES), predicted)
    return confusion_matrix(reference, predicted, CONFUSION_SIZE).tolist()
