"""Measuring one image: every format, both modes, the whole quality sweep. Runs in a worker process.

    image ─ segmenter (once) ─┬─ importance map (policy, margins, feathering) ─ the semantic mode's encodes
                              └─ labels on the original ─ task fidelity reference
    ground-truth labels | the model's classes ─ policy weights ─ the judge: region (weight >= 0.5)
    for each format, mode, quality: encode ─ decode ─ quality over whole / region / background,
                                    importance-weighted PSNR, segmenter on the decoded image

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
from .inputs import Failure, ImageInput
from .quality import WINDOW, MsSsim, region_quality
from .settings import MODES, BenchSettings

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
    for format, key in job.keys.items():
        codec = codecs.get(format)
        points = {
            mode: [
                _point(codec, pixels, chosen.values, settings, mode, q, judge, quality, segmenter, original_labels)
                for q in settings.qualities
            ]
            for mode in MODES
        }
        record = {**base, "key": key, "format": format, "codec_version": codec.version(), "points": points}
        if cache is not None:
            cache.save(record)
        yield record


def _point(
    codec: codecs.Codec, pixels: np.ndarray, importance: np.ndarray, settings: BenchSettings, mode: str,
    quality: int, judge: Judge, ms_ssim: MsSsim, segmenter: Segmenter, original_labels: np.ndarray,
) -> dict[str, Any]:
    encode = settings.encode_settings(quality, mode)
    started = time.perf_counter()
    if mode == "semantic":
        data = codec.encode(pixels, importance, encode, Metadata())
    else:
        data = codec.encode_uniform(pixels, quality, encode, Metadata())
    encoded = time.perf_counter()
    decoded = decode_like(codec, data, pixels)
    decode_seconds = time.perf_counter() - encoded
    segmentation = segmenter.segment(decoded)
    predicted = segmentation.labels
    height, width = pixels.shape[:2]
    return {
        "quality": quality,
        "bg_quality": encode.bg_quality,
        "bytes": len(data),
        "bpp": bits_per_pixel(len(data), height, width),
        **region_quality(pixels, decoded, judge.region, judge.weights, ms_ssim),
        "encode_s": encoded - started,
        "decode_s": decode_seconds,
        "segment_s": segmentation.seconds,
        "confusion_truth": None if judge.truth is None else _confusion(judge.truth, predicted),
        "confusion_original": _confusion(original_labels, predicted),
    }


def _confusion(reference: np.ndarray, predicted: np.ndarray) -> list[list[int]]:
    """[reference class, predicted class] counts; reference 255 is left out, predicted 255 is the last column."""
    predicted = np.where(predicted >= len(CLASSES), len(CLASSES), predicted)
    return confusion_matrix(reference, predicted, CONFUSION_SIZE).tolist()
