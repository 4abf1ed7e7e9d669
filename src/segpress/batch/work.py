"""The work on one input, in three steps both engines share, and the manifest record it ends in::

    Task ─ read_input ─ bytes ─┬─ segment_all (decode; a batch of images, one model run per same-size group) ─ Segmented
                               └──────────────────────────────────────────────────────────────────────────────┴─ finish
    finish: segpress.api.compress (the decoded image and its segmentation) ─ write_file (atomic) ─ record

Every image, mask and label map is decoded under its own name, so an error message names the file.

The local engine runs the three steps in a worker process per chunk of inputs (:func:`process`); the Ray
engine declares each as a Ray Data stage (Ray Data fuses them into its actors). No step raises for a bad input: the error becomes a ``"failed"``
record with a one-line message, and the rest of the job goes on.
"""

from __future__ import annotations

import json
import posixpath
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .. import api
from ..errors import InputError, SegpressError
from ..imageio import LoadedImage, companion_names, load_image, load_labels, load_mask
from ..segmenters import Segmentation, Segmenter
from ..taxonomy import CLASSES
from .manifest import timestamp
from .settings import JobSettings
from .storage import Location, read_file, write_file


@dataclass(frozen=True)
class Job:
    """What every worker needs to know about the job (picklable)."""

    settings: JobSettings
    source: Location
    destination: Location
    importance: Location | None  # the --mask or --labels folder
    fingerprint: str


@dataclass(frozen=True)
class Task:
    """One input to compress."""

    input: str  # path relative to the source: the manifest key
    source: str  # path in the source filesystem
    output: str  # path in the destination filesystem
    importance: str | None  # its mask or label map in job.importance (None: none found, or not asked)
    signature: dict[str, Any]  # size and version of the input (and of its mask or label map)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Task:
        return cls(**json.loads(text))


Outcome = Any  # a value, or the exception that stood in its way


@dataclass
class Segmented:
    """An input decoded once and segmented, for ``finish`` to compress without decoding it again."""

    image: LoadedImage
    segmentation: Segmentation


def process(job: Job, tasks: Sequence[Task], segmenter: Callable[[], Segmenter]) -> list[dict[str, Any]]:
    """Read, segment (as one batch) and compress ``tasks``; one record each, in order."""
    payloads, read_seconds = [], []
    for task in tasks:
        started = time.perf_counter()
        payloads.append(attempt(read_input, job, task))
        read_seconds.append(time.perf_counter() - started)
    segmentations = segment_all(job, tasks, payloads, segmenter)
    return [finish(job, task, data, segmentation, seconds)
            for task, data, segmentation, seconds in zip(tasks, payloads, segmentations, read_seconds, strict=True)]


def attempt(step: Callable[..., Any], *args: Any) -> Outcome:
    """``step(*args)``, or the exception it raised: one bad input must not stop a batch."""
    try:
        return step(*args)
    except Exception as error:  # noqa: BLE001 - recorded per input, see describe()
        return error


def read_input(job: Job, task: Task) -> bytes:
    data = read_file(job.source, task.source)
    if not data:
        raise InputError(f"{task.input}: empty file")
    return data


def segment_all(
    job: Job, tasks: Sequence[Task], payloads: Sequence[Outcome], segmenter: Callable[[], Segmenter]
) -> list[Outcome]:
    """Each readable image decoded and segmented (``Segmented``; None when the job has masks or label maps).

    The images go to the model as one batch (images of the same working size share a run); if the
    batch fails, each image is tried alone so that the failure stays with the image that caused it.
    """
    if not job.settings.uses_model:
        return [payload if isinstance(payload, Exception) else None for payload in payloads]
    outcomes: list[Outcome] = list(payloads)
    images: dict[int, LoadedImage] = {}
    for index, (task, payload) in enumerate(zip(tasks, payloads, strict=True)):
        if not isinstance(payload, Exception):
            loaded = attempt(_load, job, task, payload)
            if isinstance(loaded, Exception):
                outcomes[index] = loaded
            else:
                images[index] = loaded
    if not images:
        return outcomes
    pixels = [image.pixels for image in images.values()]
    model = attempt(segmenter)
    if isinstance(model, Exception):  # the model does not load: every image fails with that
        results: list[Outcome] = [model] * len(pixels)
    else:
        results = attempt(model.segment_batch, pixels)
        if isinstance(results, Exception):
            results = [attempt(model.segment, image) for image in pixels]
    for (index, image), result in zip(images.items(), results, strict=True):
        outcomes[index] = result if isinstance(result, Exception) else Segmented(image, result)
    return outcomes


def finish(job: Job, task: Task, data: Outcome, segmented: Outcome, seconds: float = 0.0) -> dict[str, Any]:
    """Compress and write one input (``segmented``: from ``segment_all``, None without a model); its record."""
    started = time.perf_counter()
    for earlier in (data, segmented):
        if isinstance(earlier, Exception):
            return failed(job, task, earlier)
    try:
        if segmented is None:
            image = _load(job, task, data)
            source = _importance_source(job, task, image)
        else:
            image, source = segmented.image, {"segmentation": segmented.segmentation}
        result = api.compress(image, **source, **job.settings.compress_options())
        write_file(job.destination, task.output, result.data)
    except Exception as error:  # noqa: BLE001 - recorded per input
        return failed(job, task, error)
    seconds += time.perf_counter() - started + (0.0 if segmented is None else segmented.segmentation.seconds)
    return done(job, task, result, len(data), seconds)


def done(job: Job, task: Task, result: api.CompressResult, bytes_in: int, seconds: float) -> dict[str, Any]:
    figures = result.summary()
    return {
        "input": task.input,
        "status": "done",
        "output": job.destination.display(task.output),
        "fingerprint": job.fingerprint,
        "source": task.signature,
        "bytes_in": bytes_in,
        "bytes_out": result.size,
        "format": result.format,
        "width": result.width,
        "height": result.height,
        "roi_quality": _rounded(figures["roi_quality"], 2),
        "bg_quality": _rounded(figures["bg_quality"], 2),
        "psnr_roi": _rounded(figures["psnr_inside"], 3),  # dB inside the important region
        "psnr_outside": _rounded(figures["psnr_outside"], 3),
        "important_fraction": _rounded(figures["important_fraction"], 4),
        "saving": _rounded(figures["saving"], 4),  # against a uniform encode; None with --no-compare
        # The uniform encode of the same format with the same PSNR inside (None with --no-compare); not
        # reached: even quality 100 fell short, so the figure is a lower bound.
        "bytes_uniform": None if result.uniform_size is None else round(result.uniform_size),
        "uniform_reached": result.uniform_reached,
        "fallback": figures["fallback"],  # True: the uniform file was written (see notes); None: not checked
        "rate_reached": figures["rate_reached"],
        # The scene floor (--scene-fidelity): the share of the original's confident labels kept; None: off.
        "scene_agreement": _rounded(figures["scene_agreement"], 4),
        "notes": result.notes,
        "seconds": round(seconds, 4),
        "error": None,
        "finished": timestamp(),
    }


def failed(job: Job, task: Task, error: BaseException | str) -> dict[str, Any]:
    return {
        "input": task.input,
        "status": "failed",
        "output": None,
        "fingerprint": job.fingerprint,
        "source": task.signature,
        "bytes_in": task.signature.get("size"),
        "bytes_out": None,
        "error": error if isinstance(error, str) else describe(error),
        "finished": timestamp(),
    }


def describe(error: BaseException) -> str:
    """One line for the manifest and the summary; our own errors say what to fix, others name their type."""
    text = " ".join(str(error).split())
    if isinstance(error, SegpressError):
        return text or type(error).__name__
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _load(job: Job, task: Task, data: bytes) -> LoadedImage:
    return load_image(data, max_pixels=job.settings.options.max_pixels, name=task.input)


def _importance_source(job: Job, task: Task, image: LoadedImage) -> dict[str, np.ndarray]:
    """``mask=`` or ``labels=`` for api.compress, read from the job's mask or label folder and decoded
    here, under the file's own name."""
    if job.importance is None:
        return {}
    kind = "mask" if job.settings.mask is not None else "labels"
    if task.importance is None:
        wanted = " or ".join(companion_names(posixpath.splitext(task.input)[0], kind))
        raise InputError(f"{task.input}: no {kind} {wanted} in {job.importance.url}")
    data = read_file(job.importance, task.importance)
    options = {"size": (image.height, image.width), "max_pixels": job.settings.options.max_pixels,
               "name": job.importance.display(task.importance)}
    if kind == "mask":
        return {"mask": load_mask(data, **options)}
    return {"labels": load_labels(data, classes=len(CLASSES), **options)}


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)
