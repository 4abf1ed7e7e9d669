"""What a job costs the server, in memory and in time, and the two ledgers that keep them bounded.

    job (kind, pixels) ─ job_bytes ──── MemoryBudget: waits (first come, first served) until its bytes fit
                       └ Backlog.expected (seconds, learnt per kind) ─ the wait a new job would have:
                         over the timeout -> refused at once, Retry-After = when it would fit

Memory per pixel: the peaks ``benchmarks/memory.py`` measured for ``segpress.compress`` (about 20
bytes per pixel for JPEG and 26 for WebP at 12 megapixels, the decoded picture included), with room for
what the server adds (the upload's bytes, the answer, a preview) and for the other formats.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from dataclasses import dataclass

# Peak bytes per pixel of one job, by kind; and what any job takes whatever its size.
BYTES_PER_PIXEL = {"segment": 16, "rendition": 16, "compress:jpeg": 32, "compress": 48}
JOB_BYTES = 64 * 1024 * 1024
# Seconds per megapixel assumed for a kind until the server has timed one (a fast guess: a server that
# guesses slow would refuse work it could do; the first job of a kind teaches the real figure).
_FIRST_GUESS = {"segment": 0.1, "rendition": 0.1}
_FIRST_GUESS_COMPRESS = 0.3
_MORE_ENCODES = 3.0  # the uniform comparison, or a target's search, takes a few more encodes
_LEARNING_RATE = 0.3  # weight of the newest job in the running estimate


def job_bytes(kind: str, pixels: int) -> int:
    """The memory a job of ``kind`` ("segment", "rendition", "compress:FORMAT[+target][+compare]") on ``pixels``
    may take at its peak."""
    base = kind.split("+")[0]
    per_pixel = BYTES_PER_PIXEL.get(base, BYTES_PER_PIXEL["compress"])
    return JOB_BYTES + per_pixel * max(0, pixels)


class MemoryBudget:
    """Bytes the jobs may hold together; a job waits (in arrival order) until its bytes fit.

    ``acquire`` runs on the event loop; ``release`` may come from any thread (a worker finishing).
    """

    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self._lock = threading.Lock()
        self._waiting: deque[tuple[int, asyncio.Future[None], asyncio.AbstractEventLoop]] = deque()

    async def acquire(self, amount: int) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            if not self._waiting and self.used + amount <= self.total:
                self.used += amount
                return
            entry = (amount, loop.create_future(), loop)
            self._waiting.append(entry)
        try:
            await entry[1]
        except BaseException:  # cancelled (the request's time ran out): give back what may have been granted
            with self._lock:
                granted = entry not in self._waiting
                if not granted:
                    self._waiting.remove(entry)
            if granted:
                self.release(amount)
            else:
                self._grant_waiting()
            raise

    def release(self, amount: int) -> None:
        with self._lock:
            self.used -= amount
        self._grant_waiting()

    def _grant_waiting(self) -> None:
        with self._lock:
            while self._waiting and self.used + self._waiting[0][0] <= self.total:
                amount, future, loop = self._waiting.popleft()
                self.used += amount
                loop.call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():  # a cancelled waiter has already given its grant back
        future.set_result(None)


@dataclass
class _Running:
    expected: float
    started: float | None = None  # monotonic time the worker began it; None while it waits


class Backlog:
    """The work ahead of a new job, in expected seconds, learnt per kind of job from the ones done."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._rates: dict[str, float] = {}  # seconds per pixel, per kind
        self._jobs: dict[int, _Running] = {}
        self._lock = threading.Lock()

    def expected(self, kind: str, pixels: int) -> float:
        """Seconds a job of ``kind`` on ``pixels`` is expected to take on one worker."""
        with self._lock:
            rate = self._rates.get(kind)
        if rate is None:
            base = kind.split("+")[0]
            guess = _FIRST_GUESS.get(base, _FIRST_GUESS_COMPRESS) * _MORE_ENCODES ** kind.count("+")
            rate = guess / 1e6
        return rate * _sized(pixels)

    def wait(self) -> float:
        """Seconds until a worker would be free for a job arriving now, were the estimates right."""
        now = time.monotonic()
        with self._lock:
            left = sum(
                job.expected if job.started is None else max(0.0, job.expected - (now - job.started))
                for job in self._jobs.values()
            )
        return left / self.workers

    def add(self, key: int, expected: float) -> None:
        with self._lock:
            self._jobs[key] = _Running(expected)

    def start(self, key: int) -> None:
        with self._lock:
            if key in self._jobs:
                self._jobs[key].started = time.monotonic()

    def finish(self, key: int, kind: str, pixels: int, succeeded: bool) -> None:
        """The job is gone; a job that ran to the end teaches the rate of its kind."""
        with self._lock:
            job = self._jobs.pop(key, None)
            if job is None or job.started is None or not succeeded:
                return
            rate = (time.monotonic() - job.started) / _sized(pixels)
            known = self._rates.get(kind)
            self._rates[kind] = rate if known is None else (1 - _LEARNING_RATE) * known + _LEARNING_RATE * rate


def _sized(pixels: int) -> int:
    """The pixels a job is timed by: small pictures count as one megapixel (their time is mostly fixed
    costs, which per pixel would make every larger job look far slower than it is)."""
    return max(pixels, 1_000_000)


def retry_after(seconds: float) -> int:
    """A Retry-After value: whole seconds, at least 1."""
    return max(1, math.ceil(seconds))
