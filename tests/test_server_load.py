"""The real server (uvicorn on 127.0.0.1) under a burst of good and bad uploads at once, and against a
client that stalls: every good upload answered correctly, every bad one with a 4xx, and the server
still serving afterwards."""

from __future__ import annotations

import asyncio
import io
import json
import socket
import time

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

pytest.importorskip("fastapi", reason="the serve extra is not installed: pip install -e '.[serve]'")
httpx = pytest.importorskip("httpx2", reason="the dev extra is not installed: pip install -e '.[dev]'")

from server_inputs import bad_uploads, encoded, small_photos  # noqa: E402

from segpress.segmenters import Segmenter, default_segmenter  # noqa: E402
from segpress.server import ServerLimits, create_app  # noqa: E402
from segpress.server.app import running  # noqa: E402

CONCURRENT = 50


@pytest.fixture(scope="module")
def server() -> str:
    limits = ServerLimits(workers=2, queue=CONCURRENT, timeout=60, read_timeout=1.0, max_upload_bytes=4_000_000)
    with running(create_app(limits)) as url:
        yield url


def test_fifty_mixed_uploads_at_once(server):
    good = small_photos()
    bad = bad_uploads()
    # Alternate good and bad; the same photo under different names also exercises the kept segmentation.
    requests = []
    for index in range(CONCURRENT):
        if index % 2 == 0:
            name, data, kind, size = good[(index // 2) % len(good)]
            requests.append((f"{index}-{name}", data, kind, 200, size))
        else:
            name, data, kind, status = bad[(index // 2) % len(bad)]
            requests.append((f"{index}-{name}", data, kind, status, None))

    async def burst():
        limits = httpx.Limits(max_connections=CONCURRENT)
        async with httpx.AsyncClient(base_url=server, timeout=120, limits=limits) as client:
            async def one(name, data, kind):
                return await client.post("/api/v1/compress", files={"file": (name, data, kind)},
                                         data={"format": "jpeg", "response": "file"})
            started = time.perf_counter()
            answers = await asyncio.gather(*(one(name, data, kind) for name, data, kind, _, _ in requests))
            return answers, time.perf_counter() - started

    answers, _seconds = asyncio.run(burst())
    for (name, _data, _kind, status, size), response in zip(requests, answers, strict=True):
        assert response.status_code == status, (name, response.text[:200])
        if status == 200:
            image = Image.open(io.BytesIO(response.content))
            image.load()
            assert image.format == "JPEG" and image.size == size, name
            assert json.loads(response.headers["x-segpress-summary"])["size"] == len(response.content)
        else:
            body = response.json()
            assert body["code"] and body["detail"], name

    with httpx.Client(base_url=server, timeout=30) as client:
        health = client.get("/api/v1/health").json()
        assert health["status"] == "ok" and health["jobs"] == 0
        name, data, kind, size = good[0]
        again = client.post("/api/v1/compress", files={"file": (name, data, kind)})
        assert again.status_code == 200 and Image.open(io.BytesIO(again.content)).size == size


def test_a_stalled_upload_gets_408_and_frees_the_server(server):
    host, port = server.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            b"POST /api/v1/compress HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=xyz\r\nContent-Length: 100000\r\n\r\n--xyz\r\n"
        )
        received = b""
        while chunk := connection.recv(65536):  # the answer comes once the 1 s pause is over, then the close
            received += chunk
    reply = received.decode("latin-1")
    assert reply.startswith("HTTP/1.1 408"), reply[:200]
    assert '"code": "request_timeout"' in reply
    with httpx.Client(base_url=server, timeout=30) as client:
        assert client.get("/api/v1/health").status_code == 200


STALLED = 80  # more than the server below takes requests at once (1 worker + 0 queue + 64)


def test_stalled_request_heads_are_timed_out_and_lock_no_one_out():
    """Slowloris: sockets that send half a request line hold nothing, and get a JSON 408 after header_timeout."""
    limits = ServerLimits(workers=1, queue=0, header_timeout=1.0)
    assert limits.max_requests < STALLED
    with running(create_app(limits)) as url:
        host, port = url.removeprefix("http://").split(":")
        stalled = [socket.create_connection((host, int(port)), timeout=10) for _ in range(STALLED)]
        try:
            for connection in stalled:
                connection.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow:")  # never ends
            with httpx.Client(base_url=url, timeout=10) as client:
                started = time.monotonic()
                health = client.get("/api/v1/health")
                assert health.status_code == 200 and health.json()["status"] == "ok", health.text
                assert time.monotonic() - started < 1.0  # answered at once, not after the stalled ones left
            for connection in stalled:
                received = b""
                while chunk := connection.recv(65536):  # the answer once the head is overdue, then the close
                    received += chunk
                reply = received.decode("latin-1")
                assert reply.startswith("HTTP/1.1 408"), reply[:200]
                assert reply.endswith('"code": "request_timeout"}'), reply[-200:]
        finally:
            for connection in stalled:
                connection.close()


class SlowSegmenter(Segmenter):
    """The shipped model, taking half a second more per image: a server whose work is slow."""

    def __init__(self) -> None:
        self.inner = default_segmenter()
        self.name = self.inner.name

    def segment_batch(self, images):
        time.sleep(0.5)
        return self.inner.segment_batch(images)


def test_work_that_cannot_finish_in_time_is_refused_at_once_with_retry_after():
    """A client is told no at once rather than after the timeout: with one worker and a 2.5 s timeout, a burst of 8 segmentations (0.5 s each once
    the server has timed one) gets some answers and, at once, a 503 with a Retry-After for the rest,
    instead of 503s after the timeout."""
    limits = ServerLimits(workers=1, queue=20, timeout=2.5)
    photo = np.ascontiguousarray(skdata.chelsea()[:200, :300])
    uploads = [encoded(photo, "JPEG", quality=90, comment=f"burst {index}") for index in range(9)]
    with running(create_app(limits, SlowSegmenter())) as url:
        with httpx.Client(base_url=url, timeout=30) as client:  # the first teaches the server the job's time
            assert client.post("/api/v1/segment", files={"file": ("0.jpg", uploads[0], "image/jpeg")}).status_code == 200

        async def burst():
            async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                async def one(index):
                    response = await client.post("/api/v1/segment",
                                                 files={"file": (f"{index}.jpg", uploads[index], "image/jpeg")})
                    return response, time.perf_counter() - started
                started = time.perf_counter()
                return await asyncio.gather(*(one(index) for index in range(1, 9)))

        answers = asyncio.run(burst())
    done = [seconds for response, seconds in answers if response.status_code == 200]
    refused = [(response, seconds) for response, seconds in answers if response.status_code == 503]
    assert len(done) + len(refused) == 8 and done and refused, [r.text[:100] for r, _ in answers]
    assert max(done) < 2.5 + 1.0  # the ones taken finished in time
    for response, seconds in refused:
        assert response.json()["code"] == "busy" and "work is ahead" in response.json()["detail"]
        assert 1 <= int(response.headers["retry-after"]) <= 5
        assert seconds < 1.5  # told at once, not after the timeout
