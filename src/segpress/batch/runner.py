"""One batch run, whatever the engine: locate, plan, run, record, summarise.

::

    SRC, DST (paths, globs, URLs) ─ storage.open_location ─ read_done ─ make_plan (skip what is done)
        ─ manifest lock ─ sweep_temporaries ─ engine (local processes | Ray Data) ─ record per input:
          manifest line (fsynced) + progress ─ BatchSummary (exit code: 0, 1 if any input failed, 130 if stopped)
"""

from __future__ import annotations

import dataclasses
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..errors import OptionError
from .interrupt import StopRequest, stop_on_interrupt
from .local import EngineResult, run_local
from .manifest import ManifestWriter, read_done, timestamp
from .plan import make_plan
from .settings import JobSettings
from .storage import Location, check_apart, open_location, sweep_temporaries
from .work import Job, Task

ENGINES = ("local", "ray")
MANIFEST_NAME = "segpress-manifest.jsonl"
_LISTED_FAILURES = 100  # failures kept for the summary; the manifest has them all


class Observer(Protocol):
    """Told about the run as it goes (the CLI's progress bar)."""

    def start(self, total: int) -> None: ...

    def advance(self, record: dict[str, Any]) -> None: ...


@dataclass
class BatchSummary:
    source: str
    destination: str
    manifest: str
    engine: str
    found: int = 0  # inputs at the source
    skipped: int = 0  # done before under the same settings
    ignored: int = 0  # files in a source folder that are not images
    to_do: int = 0  # inputs this run set out to do
    done: int = 0
    failed: int = 0
    bytes_in: int = 0  # of the inputs done in this run
    bytes_out: int = 0
    # With --compare: the uniform encodes (same format, same PSNR inside) of the inputs done in this run
    # that had one, and those inputs' outputs; a lower bound when some uniform encode fell short.
    compared: int = 0
    bytes_uniform: int = 0
    bytes_out_compared: int = 0
    uniform_lower_bound: bool = False
    seconds: float = 0.0  # from the first input given to the engine to the last record
    interrupted: bool = False
    swept: int = 0  # temporary files of killed writes removed: an earlier run's, or this run's dead workers
    failures: list[tuple[str, str]] = field(default_factory=list)  # (input, error), the first 100
    worker_peak_rss: list[int] = field(default_factory=list)  # bytes, local engine

    @property
    def not_attempted(self) -> int:
        return self.to_do - self.done - self.failed

    @property
    def images_per_second(self) -> float:
        return (self.done + self.failed) / self.seconds if self.seconds > 0 else 0.0

    @property
    def bytes_saved(self) -> int:
        return self.bytes_in - self.bytes_out

    @property
    def uniform_saving(self) -> float | None:
        """Fraction of the uniform encodes' bytes saved (--compare), or None when nothing was compared."""
        return 1 - self.bytes_out_compared / self.bytes_uniform if self.bytes_uniform else None

    @property
    def exit_code(self) -> int:
        return 130 if self.interrupted else 1 if self.failed else 0

    def add(self, record: dict[str, Any]) -> None:
        if record["status"] == "done":
            self.done += 1
            self.bytes_in += record["bytes_in"]
            self.bytes_out += record["bytes_out"]
            if record.get("bytes_uniform") is not None:
                self.compared += 1
                self.bytes_uniform += record["bytes_uniform"]
                self.bytes_out_compared += record["bytes_out"]
                self.uniform_lower_bound |= record.get("uniform_reached") is False
        else:
            self.failed += 1
            if len(self.failures) < _LISTED_FAILURES:
                self.failures.append((record["input"], record["error"]))

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["failures"] = [{"input": name, "error": error} for name, error in self.failures]
        values.update(not_attempted=self.not_attempted, images_per_second=round(self.images_per_second, 3),
                      bytes_saved=self.bytes_saved, uniform_saving=self.uniform_saving, exit_code=self.exit_code)
        return values


def run_batch(
    source: str,
    destination: str,
    settings: JobSettings,
    *,
    engine: str = "local",
    workers: int | None = None,
    manifest: str | os.PathLike[str] | None = None,
    storage_options: dict[str, Any] | None = None,
    ray_address: str | None = None,
    observer: Observer | None = None,
) -> BatchSummary:
    """Compress every image at ``source`` into ``destination``, mirroring its layout; resumable.

    Args:
        source: a folder, a glob or a file; a local path or an fsspec URL (``s3://bucket/photos``).
        destination: a folder (local path or URL); outputs mirror the source's relative paths.
        settings: from :func:`segpress.batch.job_settings`.
        engine: ``"local"`` (worker processes) or ``"ray"`` (a Ray Data pipeline).
        workers: processes (local) or segmentation actors (Ray); default: the CPUs available.
        manifest: the JSONL manifest (a local file); default ``DST/segpress-manifest.jsonl``, or
            ``./segpress-manifest-<destination>.jsonl`` for a destination that is not local.
        storage_options: fsspec options for every URL (endpoint_url, key, secret, ...).
        ray_address: a running Ray cluster (``ray://host:10001``, ``host:6379``, ``auto``); default: a
            local Ray instance started for the run (and stopped after it).
    Ctrl-C (SIGINT) stops the run cleanly: inputs in flight are finished and recorded, the rest are
    left for the next run, and the summary says ``interrupted``.
    """
    if engine not in ENGINES:
        raise OptionError(f"unknown engine {engine!r}; choose {' or '.join(ENGINES)}")
    if workers is not None and workers < 1:
        raise OptionError(f"--workers must be at least 1, got {workers}")
    if engine == "ray":
        # The Ray engine's module is imported only when asked for: Ray is an optional extra.
        from .ray_engine import prepare

        prepare(ray_address)
    job = _job(source, destination, settings, storage_options)
    manifest_path = Path(manifest) if manifest is not None else default_manifest(job.destination)
    summary = BatchSummary(source, destination, str(manifest_path), engine)
    # Planned before anything is created, so a wrong source leaves no trace. A run that started in the
    # meantime holds the manifest's lock, and this one stops below.
    plan = make_plan(job, read_done(manifest_path))
    summary.found, summary.skipped, summary.ignored = plan.found, plan.skipped, plan.ignored
    summary.to_do = len(plan.tasks) + len(plan.conflicts)
    with ManifestWriter(manifest_path) as writer:
        summary.swept = sweep_temporaries(job.destination)  # only under the lock: no other run is writing
        writer.append(_run_line(job, engine, summary))

        def emit(record: dict[str, Any]) -> None:
            writer.append(record)
            summary.add(record)
            if observer is not None:
                observer.advance(record)

        if observer is not None:
            observer.start(summary.to_do)
        for record in plan.conflicts:
            emit(record)
        started = time.perf_counter()
        with stop_on_interrupt() as stop:
            result = _run_engine(engine, job, plan.tasks, workers, emit, stop, ray_address)
        summary.seconds = time.perf_counter() - started
        if result.workers_lost:
            # A worker killed while writing left its temporary file; every worker is gone now.
            summary.swept += sweep_temporaries(job.destination)
    summary.interrupted = result.interrupted
    summary.worker_peak_rss = sorted(result.worker_peak_rss.values())
    return summary


def default_manifest(destination: Location) -> Path:
    if destination.is_local:
        return Path(destination.root) / MANIFEST_NAME
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", destination.url).strip("-")
    return Path.cwd() / f"segpress-manifest-{slug}.jsonl"


def default_workers() -> int:
    """The CPUs this process may use (affinity and cgroup limits included where Python sees them)."""
    counter = getattr(os, "process_cpu_count", None)  # Python 3.13+
    if counter is not None:
        return counter() or 1
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _job(source: str, destination: str, settings: JobSettings, storage_options: dict[str, Any] | None) -> Job:
    src = open_location(source, storage_options)
    dst = open_location(destination, storage_options)
    if dst.pattern is not None:
        raise OptionError(f"the destination {destination} must be a folder, not a glob")
    check_apart(src, dst)
    folder = settings.mask if settings.mask is not None else settings.labels
    importance = None if folder is None else open_location(folder, storage_options)
    if importance is not None:
        check_apart(importance, dst, "--mask folder" if settings.mask is not None else "--labels folder")
    return Job(settings, src, dst, importance, settings.fingerprint())


def _run_line(job: Job, engine: str, summary: BatchSummary) -> dict[str, Any]:
    """The manifest line that opens a run: what made the records after it."""
    return {
        "run": timestamp(),
        "fingerprint": job.fingerprint,
        "engine": engine,
        "source": job.source.url,
        "destination": job.destination.url,
        "found": summary.found,
        "skipped": summary.skipped,
        "settings": job.settings.values(),
    }


def _run_engine(engine: str, job: Job, tasks: list[Task], workers: int | None, emit: Any, stop: StopRequest,
                ray_address: str | None) -> EngineResult:
    if not tasks:
        return EngineResult()
    if engine == "ray":
        from .ray_engine import run_ray

        return run_ray(job, tasks, workers, emit, stop, address=ray_address)
    return run_local(job, tasks, workers or default_workers(), emit, stop)
