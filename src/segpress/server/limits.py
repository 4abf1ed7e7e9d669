"""What one server will take on: request size, pixel count, time, and how much work at once.

    connection ─ a request head not complete within header_timeout -> 408, closed (connections.py)
    request ─ HostGuard: a Host header naming none of allowed_hosts -> 400 (DNS rebinding)
            ─ RequestLimit: more than max_requests in progress -> 503 at once
            ─ UploadGuard: body over max_upload_bytes -> 413; a pause over read_timeout -> 408;
              an upload route without multipart/form-data -> 415
            ─ route ─ WorkPool.run(job, kind, pixels): more memory than the whole work budget -> 413;
                                         the work ahead (expected seconds, learnt per kind of job)
                                         would not let it finish within timeout -> 503 at once,
                                         Retry-After: when it would; no free place among workers +
                                         queue -> 503 at once; then it waits for its memory (budget.py,
                                         first come first served) and a worker; queue wait + work over
                                         timeout -> 503 (the job's place and memory stay taken until
                                         its thread ends, so the bounds hold)

A thread cannot be stopped from outside, so a job that outlives its request finishes in the
background; it still counts against the pool, and new requests are refused rather than piled up.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import threading
from collections.abc import Awaitable, Callable, Collection
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..errors import OptionError
from .budget import Backlog, MemoryBudget, job_bytes, retry_after

Result = TypeVar("Result")
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[dict[str, Any], Receive, Send], Awaitable[None]]

_job_keys = itertools.count()
# What the server process itself holds besides its jobs and its kept images: the interpreter, FastAPI,
# onnxruntime and the model (about 250-300 MB measured at start), with room.
PROCESS_BYTES = 400 * 1000 * 1000
DEFAULT_MEMORY = 3 * 1000 * 1000 * 1000  # segpress serve --memory: 3 GB
_SMALLEST_WORK_BUDGET = 256 * 1000 * 1000
# Room for the multipart framing and the form fields around the file itself.
_FORM_OVERHEAD = 64 * 1024
# The names a browser on this machine uses for a server on the loopback interface (any port).
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
LOOPBACK_ADDRESSES = ("127.0.0.1", "localhost", "::1")


def _default_workers() -> int:
    # Encodes and the network are CPU-bound: more threads than cores only adds waiting.
    return max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class ServerLimits:
    """The bounds one server process keeps; every refusal is a 4xx/503 JSON answer, never a hang."""

    max_upload_bytes: int = 32 * 1024 * 1024  # the file; the request may add the form's framing
    max_pixels: int = 40_000_000  # decoded width x height (the header is checked before decoding)
    workers: int = field(default_factory=_default_workers)  # segmentations / encodes at once
    queue: int = 64  # requests allowed to wait for a worker; beyond that: 503
    timeout: float = 60.0  # seconds one request may wait for and use a worker
    read_timeout: float = 30.0  # seconds the client may pause while sending its body
    header_timeout: float = 10.0  # seconds a connection may take to send a request line and headers
    cache_entries: int = 32  # uploaded images whose segmentation is kept (LRU)
    cache_bytes: int = 512 * 1024 * 1024  # and the memory they may hold together
    allowed_hosts: tuple[str, ...] = LOCAL_HOSTS  # names accepted in the Host header, any port; "*": any
    memory: int = DEFAULT_MEMORY  # bytes the whole process should stay under (see work_memory)

    def __post_init__(self) -> None:
        object.__setattr__(self, "allowed_hosts", tuple(_host_name(name) for name in self.allowed_hosts))
        if not all(self.allowed_hosts):
            raise OptionError("an allowed host must be a host name such as photos.example.org")
        for name in ("max_upload_bytes", "max_pixels", "workers", "cache_entries", "cache_bytes"):
            if getattr(self, name) < 1:
                raise OptionError(f"{name.replace('_', ' ')} must be at least 1, got {getattr(self, name)}")
        if self.work_memory < _SMALLEST_WORK_BUDGET:
            raise OptionError(
                f"a memory budget of {self.memory / 1e9:g} GB leaves no room for work: the process takes about "
                f"{PROCESS_BYTES / 1e9:g} GB and its kept images up to {self.cache_bytes / 1e9:g} GB; give at least "
                f"{(PROCESS_BYTES + self.cache_bytes + _SMALLEST_WORK_BUDGET) / 1e9:g} GB"
            )
        if self.queue < 0:
            raise OptionError(f"queue must be 0 or more, got {self.queue}")
        for name in ("timeout", "read_timeout", "header_timeout"):
            if not getattr(self, name) > 0:
                raise OptionError(f"{name.replace('_', ' ')} must be positive seconds, got {getattr(self, name)}")

    @property
    def work_memory(self) -> int:
        """Bytes the jobs may take together: ``memory`` less the process itself and its kept images."""
        return self.memory - PROCESS_BYTES - self.cache_bytes

    @property
    def max_requests(self) -> int:
        """Requests in progress at once: the pool's workers and queue, and room for the light GET routes."""
        return self.workers + self.queue + 64


class Busy(Exception):
    """No place for the job: every worker busy and the queue full, or the request ran out of time."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OverBudget(Exception):
    """A job that needs more memory than the server's whole budget for work: it could never run."""


class WorkPool:
    """A fixed number of worker threads with a bounded queue in front of them, a memory budget that
    admits jobs by their size, and an estimate of the wait that refuses at once what would time out."""

    def __init__(self, workers: int, queue: int, timeout: float, memory: int | None = None) -> None:
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix="segpress-work")
        self._places = threading.BoundedSemaphore(workers + queue)  # running + waiting jobs
        self._capacity = workers + queue
        self._taken = 0
        self._lock = threading.Lock()
        self.workers = workers
        self.timeout = timeout
        self.memory = MemoryBudget(memory) if memory is not None else None
        self.backlog = Backlog(workers)

    @property
    def jobs(self) -> int:
        """Jobs running or waiting now (including ones whose request already gave up)."""
        return self._taken

    async def run(self, job: Callable[..., Result], *args: Any, kind: str = "work", pixels: int = 0) -> Result:
        """``job(*args)`` on a worker thread; ``Busy`` when full, when the work ahead would not leave it
        time to finish within ``timeout``, or when it takes longer. ``kind`` and ``pixels`` size it:
        its memory (``budget.job_bytes``) waits for room in the budget, its time is estimated from the
        jobs of its kind done before. ``OverBudget`` when it needs more than the whole budget."""
        needed = job_bytes(kind, pixels)
        if self.memory is not None and needed > self.memory.total:
            raise OverBudget(
                f"this image ({pixels / 1e6:.1f} MP) needs about {needed / 1e9:.2f} GB to work on; the server's "
                f"memory budget leaves {self.memory.total / 1e9:.2f} GB for work (segpress serve --memory)"
            )
        expected = self.backlog.expected(kind, pixels)
        wait = self.backlog.wait()
        if wait > 0 and wait + expected > self.timeout:  # an idle server tries whatever it is given
            raise Busy(
                f"the server is busy: about {wait:.0f} s of work is ahead of this request, which may take "
                f"{self.timeout:g} s in all; try again later", retry_after=retry_after(wait + expected - self.timeout),
            )
        if not self._places.acquire(blocking=False):
            raise Busy(f"the server is busy ({self._capacity} requests in progress); try again shortly",
                       retry_after=retry_after(wait))
        with self._lock:
            self._taken += 1
        key = next(_job_keys)
        self.backlog.add(key, expected)
        outcome: dict[str, bool] = {}

        def done(future: Future | None) -> None:
            succeeded = future is not None and not future.cancelled() and future.exception() is None
            self.backlog.finish(key, kind, pixels, succeeded and outcome.get("ran", False))
            if future is not None and "memory" in outcome and self.memory is not None:
                self.memory.release(needed)
            self._release(None)

        def started() -> Result:
            outcome["ran"] = True
            self.backlog.start(key)
            return job(*args)

        async def admitted() -> Result:
            if self.memory is not None:
                await self.memory.acquire(needed)
                outcome["memory"] = True
            try:
                future = self._executor.submit(started)
            except RuntimeError:  # the executor was shut down: the server is stopping
                raise Busy("the server is shutting down") from None
            future.add_done_callback(done)  # also runs when a queued job is cancelled
            outcome["submitted"] = True
            return await asyncio.wrap_future(future)

        try:
            return await asyncio.wait_for(admitted(), self.timeout)
        except TimeoutError:
            raise Busy(f"the request took longer than {self.timeout:g} s", retry_after=5) from None
        finally:
            if "submitted" not in outcome:  # never reached a worker: its place and memory are free again
                if "memory" in outcome and self.memory is not None:
                    self.memory.release(needed)
                self.backlog.finish(key, kind, pixels, False)
                self._release(None)

    def _release(self, _future: Future | None) -> None:
        with self._lock:
            self._taken -= 1
        self._places.release()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def allowed_hosts_for(address: str, names: Collection[str] = ()) -> tuple[str, ...]:
    """The Host names a server listening on ``address`` accepts: the local names, plus ``names``.

    Without ``names``, a server on a loopback address takes the local names only, and one on any other
    address takes any Host (it is meant to be reached by names this machine cannot know).
    """
    if names:
        return (*LOCAL_HOSTS, *names)
    return LOCAL_HOSTS if address in LOOPBACK_ADDRESSES else ("*",)


class HostGuard:
    """ASGI middleware: 400 for a request whose Host header names none of the allowed hosts.

    A web page elsewhere can reach a server on 127.0.0.1 by resolving its own name to that address
    (DNS rebinding); the browser then still sends the page's name as Host, which this refuses.
    """

    def __init__(self, app: ASGIApp, *, allowed_hosts: Collection[str]) -> None:
        self.app = app
        self.allowed = frozenset(_host_name(name) for name in allowed_hosts)

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and "*" not in self.allowed:
            host = next((value.decode("latin-1") for key, value in scope["headers"] if key.lower() == b"host"), "")
            if _host_name(host) not in self.allowed:
                shown = host[:100] or "(none)"
                await _send_error(send, 400, "bad_request",
                                  f"Host {shown} is not served here (start the server with --allowed-host NAME)")
                return
        await self.app(scope, receive, send)


class RequestLimit:
    """ASGI middleware: at most ``limit`` requests in progress; beyond that a JSON 503 at once.

    It stands in for uvicorn's ``limit_concurrency``, which also counts connections that have not sent
    a whole request yet: a few stalled sockets locked every client out, with a plain-text 503.
    """

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.active = 0  # one event loop: no lock needed

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.active >= self.limit:
            await _send_error(send, 503, "busy", f"the server is busy ({self.limit} requests in progress); try again shortly",
                              retry_after=1)
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1


def _host_name(host: str) -> str:
    """A Host header's or an allowed name's host, lower case, without port or trailing dot: ``[::1]:8000`` -> ``[::1]``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    if host.count(":") > 1:  # a bare IPv6 address, as given on the command line
        return f"[{host}]"
    return host.partition(":")[0].rstrip(".")


class _BodyRefused(Exception):
    """Raised into the app's body reading; the guard answers with its own error instead."""


class UploadGuard:
    """ASGI middleware: bounds every request body in size and in the pauses while it arrives, and
    refuses an upload route whose body is not ``multipart/form-data``.

    The declared ``Content-Length`` is checked before anything is read; a body sent without one
    (chunked) is counted as it arrives and cut off at the limit. Once the body is refused, whatever
    the app makes of the interrupted read (FastAPI answers 400) is replaced by the guard's answer.
    """

    def __init__(self, app: ASGIApp, *, max_body: int, read_timeout: float, upload_paths: Collection[str]) -> None:
        self.app = app
        self.max_body = max_body + _FORM_OVERHEAD
        self.max_file = max_body
        self.read_timeout = read_timeout
        self.upload_paths = frozenset(upload_paths)

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await _send_error(send, *refusal)
            return
        received = 0
        refused: tuple[int, str, str] | None = None
        answered = False

        async def bounded_receive() -> dict[str, Any]:
            nonlocal received, refused
            try:
                message = await asyncio.wait_for(receive(), self.read_timeout)
            except TimeoutError:
                refused = (408, "request_timeout", f"the request body stalled for more than {self.read_timeout:g} s")
                raise _BodyRefused() from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    refused = self._too_large()
                    raise _BodyRefused()
            return message

        async def guarded_send(message: dict[str, Any]) -> None:
            nonlocal answered
            if refused is not None:
                if not answered and message["type"] == "http.response.start":
                    answered = True
                    await _send_error(send, *refused)
                return
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, guarded_send)
        except _BodyRefused:
            if not answered:  # else the answer has begun: too late for another, the connection just ends
                await _send_error(send, *refused)  # type: ignore[misc]

    def _refusal(self, scope: dict[str, Any], headers: dict[str, str]) -> tuple[int, str, str] | None:
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return 400, "bad_request", "Content-Length is not a number"
            if int(length) > self.max_body:
                return self._too_large()
        if scope["method"] == "POST" and scope["path"] in self.upload_paths:
            kind = headers.get("content-type", "").split(";")[0].strip().lower()
            if kind != "multipart/form-data":
                shown = kind or "none"
                return 415, "unsupported_media_type", (
                    f"send the image as multipart/form-data (a 'file' field), not {shown}"
                )
        return None

    def _too_large(self) -> tuple[int, str, str]:
        return 413, "too_large", f"the upload is over the limit of {_megabytes(self.max_file)}"


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:g} MB" if size >= 1_000_000 else f"{size:,} bytes"


async def _send_error(send: Send, status: int, code: str, detail: str, retry_after: int | None = None) -> None:
    body = json.dumps({"detail": detail, "code": code}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
