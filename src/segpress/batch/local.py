"""The local engine: a pool of worker processes, each holding the model, fed chunks of inputs.

::

    main process: plan ─ chunks of CHUNK inputs ─▶ ProcessPoolExecutor (spawn) ─▶ records ─▶ manifest, progress
    worker (xN):  model loaded once, 1 onnxruntime thread ─ work.process(chunk): read, segment as a batch,
                  compress, write ─ records

- One thread per worker: N workers on N cores would otherwise each start a thread per core (onnxruntime,
  OpenMP, BLAS) and slow each other down. The segmenter gets ``threads=1``; the usual thread variables
  are set to 1 for the workers' libraries.
- At most two chunks per worker are queued, so a million inputs never become a million futures.
- Workers ignore SIGINT: the main process decides (:mod:`segpress.batch.interrupt`). On the first
  Ctrl-C it submits nothing more, cancels what has not started, waits for the running chunks and
  records them; a second Ctrl-C kills the workers.
- A worker that dies (out of memory, a crash in a native decoder) breaks the pool: the pool is
  restarted and the chunks it was running are redone one input at a time, alone, so the input that
  kills a worker is recorded as failed and the others are done.
- A worker exits by itself when the main process is gone (killed), instead of living on as an orphan.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import resource
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..segmenters import Segmenter
from .interrupt import StopRequest
from .work import Job, Task, failed, process

CHUNK = 4  # inputs per worker call: the shipped segmenter's batch size
_QUEUED_PER_WORKER = 2
_POLL_SECONDS = 0.25  # how often the main process looks at the stop request while waiting
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                     "NUMEXPR_NUM_THREADS")
_CRASHED = "the worker process died while compressing it (out of memory, or a crash in a native decoder)"

Emit = Callable[[dict[str, Any]], None]


@dataclass
class EngineResult:
    interrupted: bool = False
    worker_peak_rss: dict[int, int] = field(default_factory=dict)  # worker pid -> peak resident bytes
    workers_lost: int = 0  # worker pools broken by a worker that died (its write may have left a temporary)


def run_local(job: Job, tasks: list[Task], workers: int, emit: Emit, stop: StopRequest) -> EngineResult:
    """Do ``tasks`` with ``workers`` processes; ``emit`` gets each record as it comes (in the main process)."""
    size = chunk_size(len(tasks), workers)
    waiting = deque(([*tasks[i : i + size]], False) for i in range(0, len(tasks), size))
    with _single_threaded_workers():
        pool = _Pool(job, workers, emit)
        try:
            pool.run(waiting, stop)
        except BaseException:
            pool.kill()  # a second Ctrl-C, or an error in the main process: do not wait for the workers
            raise
        finally:
            pool.close()
    return EngineResult(interrupted=stop.requested, worker_peak_rss=pool.peak_rss, workers_lost=pool.lost)


def chunk_size(count: int, workers: int) -> int:
    """CHUNK, or less when there are too few inputs to give every worker a couple of chunks."""
    return max(1, min(CHUNK, math.ceil(count / (_QUEUED_PER_WORKER * workers))))


class _Pool:
    """The executor, what runs in it, and its restarts after a worker died."""

    def __init__(self, job: Job, workers: int, emit: Emit) -> None:
        self.job, self.workers, self.emit = job, workers, emit
        self.in_flight: dict[Future, tuple[list[Task], bool]] = {}
        self.peak_rss: dict[int, int] = {}
        self.executor = self._start()
        self.broken = False
        self.lost = 0

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker, initargs=(self.job, os.getpid()),
        )

    def run(self, waiting: deque[tuple[list[Task], bool]], stop: StopRequest) -> None:
        while waiting or self.in_flight:
            if stop.requested:
                waiting.clear()
                self._cancel_queued()
            else:
                self._submit(waiting)
            if self.in_flight:
                finished, _ = wait(self.in_flight, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
                for future in finished:
                    self._collect(future, waiting)

    def _submit(self, waiting: deque[tuple[list[Task], bool]]) -> None:
        if self.broken:
            if self.in_flight:
                return  # the broken pool's other futures fail too; collect them before restarting
            self.executor.shutdown(wait=True)
            self.executor, self.broken = self._start(), False
        while waiting and len(self.in_flight) < _QUEUED_PER_WORKER * self.workers:
            chunk, alone = waiting[0]
            if alone and self.in_flight or any(suspect for _, suspect in self.in_flight.values()):
                return  # a suspect runs with nothing beside it, so a crash names it
            waiting.popleft()
            self.in_flight[self.executor.submit(_work, chunk)] = (chunk, alone)

    def _collect(self, future: Future, waiting: deque[tuple[list[Task], bool]]) -> None:
        chunk, alone = self.in_flight.pop(future)
        if future.cancelled():
            return
        try:
            records, pid, peak = future.result()
        except BrokenProcessPool:
            self.lost += not self.broken  # the pool's other futures fail with it: one loss
            self.broken = True
            if alone:
                self.emit(failed(self.job, chunk[0], _CRASHED))
            else:
                waiting.extendleft(([task], True) for task in reversed(chunk))
            return
        except Exception as error:  # noqa: BLE001 - e.g. a result that cannot be unpickled: fail the chunk
            for task in chunk:
                self.emit(failed(self.job, task, error))
            return
        self.peak_rss[pid] = max(peak, self.peak_rss.get(pid, 0))
        for record in records:
            self.emit(record)

    def _cancel_queued(self) -> None:
        for future in list(self.in_flight):
            if future.cancel():
                del self.in_flight[future]

    def kill(self) -> None:
        kill_workers = getattr(self.executor, "kill_workers", None)  # Python 3.14+
        if kill_workers is not None:
            kill_workers()
            return
        for worker in list(getattr(self.executor, "_processes", {}).values()):  # before 3.14: no public way
            worker.kill()

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _single_threaded_workers() -> Iterator[None]:
    """Thread variables set to 1 while the pool starts workers (they inherit the environment); then restored."""
    saved = {name: os.environ.get(name) for name in _THREAD_VARIABLES}
    os.environ.update({name: "1" for name, value in saved.items() if value is None})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)


# --- in the worker processes ----------------------------------------------------------------------

_worker: _Worker | None = None


class _Worker:
    def __init__(self, job: Job) -> None:
        self.job = job
        self._segmenter: Segmenter | None = None

    def segmenter(self) -> Segmenter:
        if self._segmenter is None:  # loaded on first use, so a load error is recorded per input, not fatal
            self._segmenter = self.job.settings.load_segmenter(threads=1)
        return self._segmenter


def _start_worker(job: Job, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the main process handles Ctrl-C
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True, name="segpress-parent-watch").start()
    global _worker
    _worker = _Worker(job)


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _work(chunk: list[Task]) -> tuple[list[dict[str, Any]], int, int]:
    assert _worker is not None, "worker not initialised"
    records = process(_worker.job, chunk, _worker.segmenter)
    return records, os.getpid(), _peak_rss()


def _peak_rss() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB on Linux
