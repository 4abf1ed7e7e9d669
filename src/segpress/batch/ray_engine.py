"""The Ray engine: the same job as a Ray Data pipeline, on a running cluster or a local Ray instance.

::

    from_items(tasks) ─ read (tasks: bytes) ─ segment, then encode + write (actor pool: the model
        loaded once per actor, a batch of images per call; api.compress, atomic write) ─ records
        ─ driver: iter_rows ─ manifest line (fsynced) + progress, as each record arrives

Ray Data fuses the read into the actors (same resources, a task pool of the actor pool's size): each
actor reads its own inputs, so no process starts just to read, and image bytes do not pass through
the object store between two processes.

(Jobs that need no model — masks, label maps — encode in plain tasks instead of actors.)

The steps are those of the local engine (:mod:`segpress.batch.work`); only the plumbing is Ray's.
The records stream back to the driver, which alone writes the manifest, so a crash of the driver
loses no finished entry either. Outputs are written by the stage that encodes (Ray Data has no sink
that writes raw bytes under names of our choosing); rows carry errors as text, so a bad input never
fails the dataset.

Resources: ``workers`` segmentation actors, and at most ``workers`` read and encode tasks at a time
(every new Ray worker process imports segpress and costs a second of CPU: an unbounded task pool
starts many on a small machine). Every stage takes half a CPU: whole CPUs per actor would leave no
CPU for Ray Data's own work on a small machine (the pipeline then waits forever), every stage is
single-threaded anyway (one onnxruntime thread per actor), and equal resources are what lets Ray Data
fuse the read into the next stage. Measured on 2 cores (101 CamVid frames, a new local instance):
fusing brought the first record from 6.4-6.9 s to 4.0-4.9 s after the start, and the steady rate
from 16.4 to 18-19 images/s (the local engine's 18-19.5).

Without ``address`` a local instance is started for the run and stopped after it, bound to loopback
(``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``), without the dashboard, token auth or usage reports, its
files in a temporary folder. An address on loopback (a head started on this machine with that same
variable) keeps the driver on loopback too; any address is tried first with a plain TCP connection,
so a wrong one fails in seconds. A Ray already initialised in this process (a notebook, a test) is used as
it is. On a real cluster every node must be able to import segpress (installed there, or through a
``runtime_env``), and the source and destination must be reachable from every node: object storage,
or a shared filesystem.
"""

from __future__ import annotations

import contextlib
import importlib.util
import ipaddress
import logging
import math
import os
import pickle
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from ..errors import OptionError, SegpressError
from ..segmenters import Segmenter
from .interrupt import StopRequest
from .local import CHUNK, EngineResult
from .work import Job, Segmented, Task, attempt, describe, failed, finish, read_input, segment_all

STAGE_CPUS = 0.5  # every stage's CPUs: equal, so Ray Data fuses the read into the stage after it
# Inputs go in blocks of CHUNK (a segmentation batch), so records stream back a few at a time; past
# this many blocks, blocks grow instead: Ray Data's cost per block and task would dominate.
MAX_BLOCKS = 10_000
_CONNECT_SECONDS = 5
# Environment of a local instance started here (each one only where the user has not set it).
_LOCAL_ENVIRONMENT = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # single machine: everything binds to 127.0.0.1
    "RAY_AUTH_MODE": "disabled",  # no token file written to ~/.ray for a private, loopback-only instance
    "RAY_USAGE_STATS_ENABLED": "0",
}


def run_ray(job: Job, tasks: list[Task], workers: int | None, emit: Callable[[dict[str, Any]], None],
            stop: StopRequest, *, address: str | None = None) -> EngineResult:
    """Run ``tasks`` as a Ray Data pipeline with ``workers`` segmentation actors (default: the cluster's CPUs)."""
    with _connected(address) as ray:
        size = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        try:
            for row in _pipeline(job, tasks, size).iter_rows():
                emit(pickle.loads(row["record"]))
                if stop.requested:
                    break  # leaving the iterator shuts the pipeline down; what is left is done next run
        except (SegpressError, KeyboardInterrupt):
            raise
        except Exception as error:  # a Ray failure (a node lost, a worker killed again and again)
            raise SegpressError(f"the Ray pipeline failed: {_last_line(error)}") from error
    return EngineResult(interrupted=stop.requested)


def _pipeline(job: Job, tasks: list[Task], actors: int) -> Any:
    import ray.data

    items = [{"task": task.to_json()} for task in tasks]
    blocks = max(1, min(MAX_BLOCKS, math.ceil(len(items) / CHUNK)))
    dataset = ray.data.from_items(items, override_num_blocks=blocks)
    workers = min(actors, blocks)
    # A batch size makes Ray Data bundle blocks until it has that many rows: blocks of up to CHUNK rows
    # are taken one by one instead (batch_size None: the block is the batch).
    batch = CHUNK if math.ceil(len(items) / blocks) > CHUNK else None
    dataset = dataset.map_batches(
        _read, fn_kwargs={"job": job}, batch_size=batch, batch_format="pandas", num_cpus=STAGE_CPUS,
        compute=ray.data.TaskPoolStrategy(size=workers), udf_modifying_row_count=False,
    )
    if job.settings.uses_model:
        return dataset.map_batches(
            SegmentStage, fn_constructor_kwargs={"job": job}, batch_size=batch, batch_format="pandas",
            compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=STAGE_CPUS, udf_modifying_row_count=False,
        )
    return dataset.map_batches(
        _encode, fn_kwargs={"job": job}, batch_size=1, batch_format="pandas", num_cpus=STAGE_CPUS,
        compute=ray.data.TaskPoolStrategy(size=workers), udf_modifying_row_count=False,
    )


# --- the stages (plain callables on pandas batches: testable without Ray) ----------------------------
# Columns: task (JSON), data (the file's bytes), error (one line), segmentation (pickled). "Nothing" is
# b"" or "", never None: Arrow turns None into a null that comes back as pandas.NA.


def _read(batch: Any, job: Job) -> Any:
    outcomes = [attempt(read_input, job, Task.from_json(text)) for text in batch["task"]]
    return _frame(task=list(batch["task"]), data=[_value(o) for o in outcomes], error=[_error(o) for o in outcomes])


class SegmentStage:
    """Holds the model (loaded on first use, one onnxruntime thread) and segments a batch per call."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self._segmenter: Segmenter | None = None

    def segmenter(self) -> Segmenter:
        if self._segmenter is None:
            self._segmenter = self.job.settings.load_segmenter(threads=1)
        return self._segmenter

    def __call__(self, batch: Any) -> Any:
        """Segments the batch, then encodes and writes each image here, as a local worker does.

        Encoding in the actor, rather than in a later task stage, keeps the class probabilities (about
        10 MB per 480x360 image) out of Ray's object store: shipping them to encode tasks cost a third of
        the steady throughput on a 2-core machine (10.7 against 16.3 images/s, benchmarks/batch.py).
        """
        payloads = [SegpressError(error) if error else data for data, error in zip(batch["data"], batch["error"], strict=True)]
        tasks = [Task.from_json(text) for text in batch["task"]]
        outcomes = segment_all(self.job, tasks, payloads, self.segmenter)
        return _encode(_frame(
            task=list(batch["task"]),
            data=[b"" if isinstance(o, Exception) else data for o, data in zip(outcomes, batch["data"], strict=True)],
            error=[_error(o) for o in outcomes],
        ), self.job, [o if isinstance(o, Segmented) else None for o in outcomes])


def _encode(batch: Any, job: Job, segmented: list[Segmented | None] | None = None) -> Any:
    segmented = segmented or [None] * len(batch)
    records = []
    for text, data, error, prepared in zip(batch["task"], batch["data"], batch["error"], segmented, strict=True):
        task = Task.from_json(text)
        record = failed(job, task, error) if error else finish(job, task, data, prepared)
        records.append(pickle.dumps(record))
    return _frame(record=records)


def _last_line(error: BaseException) -> str:
    """Ray's errors carry the remote traceback; its last line names the cause."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1][:500] if lines else type(error).__name__


def _frame(**columns: list[Any]) -> Any:
    import pandas

    # Object columns keep bytes as they are (a numpy bytes array would strip trailing NUL bytes).
    return pandas.DataFrame({name: pandas.Series(values, dtype=object) for name, values in columns.items()})


def _value(outcome: Any) -> bytes:
    return b"" if isinstance(outcome, Exception) else outcome


def _error(outcome: Any) -> str:
    return describe(outcome) if isinstance(outcome, Exception) else ""


# --- connecting ---------------------------------------------------------------------------------


def prepare(address: str | None) -> None:
    """Checks made before a run starts (Ray installed, the cluster reachable); Ray's environment set."""
    if address is None or _on_loopback(address):
        for name, value in _LOCAL_ENVIRONMENT.items():
            os.environ.setdefault(name, value)  # read by Ray when it is imported: before any import of it
    if importlib.util.find_spec("ray") is None:
        raise OptionError("the Ray engine needs Ray Data: pip install 'segpress[ray]'")
    if address is not None:
        _check_reachable(address)


@contextlib.contextmanager
def _connected(address: str | None) -> Iterator[Any]:
    """Ray, initialised: as found, connected to ``address``, or a local instance started (and stopped) here."""
    prepare(address)
    import ray
    import ray.data

    _quiet(ray.data.DataContext.get_current())
    if ray.is_initialized():
        yield ray
        return
    folder = None
    try:
        if address is not None:
            ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        else:
            folder = tempfile.mkdtemp(prefix="segpress-ray-")
            ray.init(include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False, _temp_dir=folder)
    except ConnectionError as error:
        raise OptionError(f"cannot connect to the Ray cluster at {address}: {error}") from None
    try:
        yield ray
    finally:
        ray.shutdown()
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def _host_and_port(address: str) -> tuple[str | None, int | None]:
    """``host:port``, ``ray://host:port`` or ``[::1]:port``; (None, None) for ``auto`` and the like."""
    parts = urlsplit(address if "://" in address else f"//{address}")
    try:
        return parts.hostname, parts.port
    except ValueError:  # a port that is not a number
        return parts.hostname, None


def _on_loopback(address: str) -> bool:
    """A head on this machine's loopback: the driver must then stay on loopback too (Ray would swap in
    the machine's network address and never reach it)."""
    host, _ = _host_and_port(address)
    if host is None:
        return False
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_reachable(address: str) -> None:
    """Fail in seconds on an address nothing listens at, instead of Ray's minutes of retries."""
    host, port = _host_and_port(address)
    if host is None or port is None:
        return  # "auto" and friends: Ray finds the cluster itself
    try:
        with socket.create_connection((host, port), timeout=_CONNECT_SECONDS):
            pass
    except OSError as error:
        raise OptionError(f"cannot reach the Ray cluster at {address} ({error.strerror or error})") from None


def _quiet(context: Any) -> None:
    """segpress draws its own progress bar and summary: no Ray Data bars or execution banners."""
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # "progress bars disabled"
