"""Running a bench: inputs -> cached or measured records (a process pool over images) -> results + reports.

    collect_inputs ─ for each image and format: cache hit? ─ no ─ ImageJob ─ pool of workers (measure_job)
                                                   └─ yes ─────────────────────────────┐     │ record per format,
    results.json (schema.py) ◄── summarise ◄── every record, in input order ◄──────────┴─────┘ cached at once
    report.md, report.html, plots/, crops/ (report.py)

Workers are separate processes (spawned, so each starts clean and loads the segmentation model once,
with one onnxruntime thread each: workers x threads = cores). With one worker everything runs in this
process. Ctrl-C stops the run: the images in progress finish and are cached, the rest are not
started; the same command resumes.
"""

from __future__ import annotations

import json
import multiprocessing
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from segpress import codecs
from segpress.errors import OptionError
from segpress.imageio import atomic_write

from .cache import Cache, record_key
from .inputs import Failure, Inputs, collect_inputs
from .measure import ImageJob, ImageResult, measure_job
from .record import clean, machine, versions
from .schema import SCHEMA_VERSION, schema_document
from .settings import PROGRESSIVE, SUBSAMPLING, BenchSettings
from .summary import BD_METRICS, group, image_bd_rate, summarise

Progress = Callable[[str], None]  # called with the image's name as each one is done


@dataclass
class Outcome:
    """What a run produced: the results document, the files written, and what was measured or reused."""

    results: dict[str, Any]
    files: list[Path]
    measured: int  # records measured in this run
    cached: int  # records taken from the cache
    failures: list[Failure]


def run_bench(
    arguments: Sequence[Path],
    settings: BenchSettings,
    output: Path,
    *,
    cache_folder: Path | None = None,
    workers: int = 2,
    limit: int | None = None,
    command: str | None = None,
    report: bool = True,
    crops: bool = True,
    on_start: Callable[[int], None] | None = None,
    on_image: Progress | None = None,
) -> Outcome:
    """Measure ``arguments`` (image files and folders) under ``settings``; write results and reports to ``output``.

    ``on_start(n)`` is told how many images will be measured (not cached), ``on_image(name)`` each time
    one is done. ``report=False`` writes results.json alone (no Markdown, HTML, plots or crops);
    ``crops=False`` leaves out the crops alone (pixels of data whose terms forbid passing them on).
    InputError when no image is usable; every bad file is listed in the results instead.
    """
    if workers < 1:
        raise OptionError(f"--workers must be at least 1, got {workers}")
    if limit is not None and limit < 1:
        raise OptionError(f"--limit must be at least 1, got {limit}")
    if output.exists() and not output.is_dir():
        raise OptionError(f"-o {output}: is a file; give a folder for the results")
    started = time.perf_counter()
    inputs = collect_inputs(arguments, settings.labels, limit)
    cache = Cache(cache_folder if cache_folder is not None else output / "cache")
    cached, jobs = _plan(inputs, settings, cache, threads=None if workers == 1 else 1)
    if on_start is not None:
        on_start(len(jobs))
    records = list(cached)
    failures = list(inputs.failures)
    for result in _execute(jobs, workers):
        records.extend(result.records)
        if result.failure is not None:
            failures.append(result.failure)
        if on_image is not None:
            on_image(result.name)
    order = {image.name: index for index, image in enumerate(inputs.images)}
    records.sort(key=lambda r: (order[r["image"]["name"]], settings.formats.index(r["format"])))
    results = build_results(records, failures, settings, inputs, {
        "seconds": time.perf_counter() - started, "workers": workers, "measured_records": len(records) - len(cached),
        "cached_records": len(cached), "command": command,
    })
    files = write_results(results, output)
    if report:
        from .report import write_reports  # matplotlib is imported only when a report is written

        files += write_reports(results, records, settings, output, crops=crops)
    return Outcome(results, files, len(records) - len(cached), len(cached), failures)


def _plan(
    inputs: Inputs, settings: BenchSettings, cache: Cache, threads: int | None
) -> tuple[list[dict], list[ImageJob]]:
    """Records already in the cache, and a job per image with formats still to measure."""
    identity = run_identity(settings)
    versions = {format: codecs.get(format).version() for format in settings.formats}
    cached: list[dict] = []
    jobs: list[ImageJob] = []
    for image in inputs.images:
        missing = {}
        for format in settings.formats:
            key = record_key(identity, image.sha256, image.labels_sha256, format, versions[format])
            record = cache.load(image.name, format, key)
            if record is None:
                missing[format] = key
            else:  # the same bytes, perhaps moved since: the report reopens the files where they are now
                record["image"]["path"] = str(image.path)
                if image.labels is not None:
                    record["labels"]["path"] = str(image.labels)
                cached.append(record)
        if missing:
            jobs.append(ImageJob(image, missing, settings, cache.folder, threads))
    return cached, jobs


def run_identity(settings: BenchSettings) -> dict[str, Any]:
    """Everything but the image and the format (and its library) that decides a record's numbers."""
    return {
        "segpress": package_version("segpress"),
        "qualities": list(settings.qualities),
        "bg_quality": settings.bg_quality,
        "encoding": {"progressive": PROGRESSIVE, "subsampling": SUBSAMPLING},
        "policy": settings.policy_identity(),
        "segmenter": settings.segmenter_identity["sha256"],
        "label_set": None if settings.labels is None else {
            "classes": list(settings.labels.label_set.classes), "ignore": list(settings.labels.label_set.ignore),
            "mapping": dict(sorted(settings.labels.label_set.mapping.items())),
        },
        "max_pixels": settings.max_pixels,
        "fallback": settings.fallback,
    }


def _ignore_interrupts() -> None:
    """Workers leave Ctrl-C to the main process, which stops handing out images."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _execute(jobs: list[ImageJob], workers: int) -> Iterator[ImageResult]:
    if workers == 1 or len(jobs) <= 1:
        for job in jobs:
            yield measure_job(job)
        return
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context, initializer=_ignore_interrupts)
    futures = {pool.submit(measure_job, job): job for job in jobs}
    try:
        for future in as_completed(futures):
            try:
                yield future.result()
            except BrokenProcessPool as error:  # a worker was killed (out of memory, say)
                job = futures[future]
                yield ImageResult(job.image.name, [], Failure(str(job.image.path), "measure",
                                                             f"the worker process died ({error})"))
    finally:
        # On Ctrl-C: images not started are dropped; those in progress finish and reach the cache.
        pool.shutdown(wait=True, cancel_futures=True)


# --- the results document ---------------------------------------------------------------------------


def build_results(
    records: list[dict], failures: list[Failure], settings: BenchSettings, inputs: Inputs, run: dict[str, Any],
) -> dict[str, Any]:
    summary = summarise(records, settings.formats, settings.fallback) if records else None
    return {
        "schema": SCHEMA_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "versions": versions(("scipy", "scikit-image", "imagecodecs", "onnxruntime", "matplotlib"),
                             {f"codec:{name}": codecs.get(name).version() for name in settings.formats}),
        "settings": settings.describe(),
        "run": {**run, "images_found": len(inputs.images), "images_measured": len(group(records))},
        "images": _per_image(records, settings),
        "failures": [failure.to_json() for failure in failures],
        "notes": _notes(records, settings),
        "summary": summary,
    }


def _per_image(records: list[dict], settings: BenchSettings) -> list[dict[str, Any]]:
    """One entry per image: what it is, how it was judged, and per format its points (no confusion matrices:
    those stay in the cache records) and its own-format BD-rates."""
    entries = []
    for records_by_format in group(records).values():
        first = next(iter(records_by_format.values()))
        entry = {key: first[key] for key in ("labels", "judge", "region_fraction", "importance_mean",
                                             "segment_s", "ms_ssim_scales")}
        entry = {**first["image"], **entry, "formats": {}}
        for format, record in records_by_format.items():
            measurable = 0.0 < record["region_fraction"] < 1.0
            entry["formats"][format] = {
                "codec_version": record["codec_version"],
                "bd_rate": {metric: image_bd_rate(records_by_format, format, format, metric) if measurable else None
                            for metric in BD_METRICS},
                "points": {mode: [_public(p) for p in points] for mode, points in record["points"].items()},
            }
        entries.append(entry)
    return entries


def _public(point: dict[str, Any]) -> dict[str, Any]:
    """A point without its confusion matrices (they stay in the cache records), the adaptive one's too."""
    kept = {k: v for k, v in point.items() if not k.startswith("confusion")}
    if isinstance(kept.get("adaptive"), dict):
        kept["adaptive"] = _public(kept["adaptive"])
    return kept


def _notes(records: list[dict], settings: BenchSettings) -> list[str]:
    notes = []
    judge = "the ground truth" if settings.labels is not None else "the model"
    for records_by_format in group(records).values():
        first = next(iter(records_by_format.values()))
        name, fraction = first["image"]["name"], first["region_fraction"]
        if fraction <= 0.0:
            notes.append(f"{name}: no important pixels (judged by {judge}): left out of the RD curves and BD-rates")
        elif fraction >= 1.0:
            notes.append(f"{name}: every pixel is important (judged by {judge}): no background; left out of the "
                         "RD curves and BD-rates")
        if first["ms_ssim_scales"] < 5:
            notes.append(f"{name}: {first['image']['width']}x{first['image']['height']} is under 176 pixels a side: "
                         f"MS-SSIM over {first['ms_ssim_scales']} scales")
    return notes


def results_json(results: dict[str, Any]) -> str:
    """Indented JSON with one line per image: readable, diffable, and a third the size of indenting every point."""
    document = clean(results)
    images = ",\n".join(json.dumps(image, separators=(",", ":"), allow_nan=False) for image in document["images"])
    placeholder = "\u0000images\u0000"
    text = json.dumps({**document, "images": placeholder}, indent=1, allow_nan=False)
    return text.replace(json.dumps(placeholder), f"[\n{images}\n]" if images else "[]") + "\n"


def write_results(results: dict[str, Any], output: Path) -> list[Path]:
    """results.json and the schema it follows, side by side."""
    targets = [output / "results.json", output / "results.schema.json"]
    atomic_write(targets[0], results_json(results).encode(), overwrite=True)
    atomic_write(targets[1], (json.dumps(schema_document(), indent=1) + "\n").encode(), overwrite=True)
    return targets
