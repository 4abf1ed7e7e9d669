"""The HTTP API (``segpress serve``) through FastAPI's test client: answers, the kept segmentation,
and a 4xx JSON error (never a 500) for every bad upload or option."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import re
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="the serve extra is not installed: pip install -e '.[serve]'")

from fastapi.testclient import TestClient
from server_inputs import bad_uploads, chelsea_jpeg, png_claiming, small_photos

import segpress
from segpress.cli import main
from segpress.errors import OptionError
from segpress.policy import PRESETS, Policy, available_policies, load_policy
from segpress.segmenters import Segmenter, default_segmenter
from segpress.server import ServerLimits, allowed_hosts_for, budget, create_app
from segpress.server.limits import Busy, OverBudget, RequestLimit, WorkPool
from segpress.server.store import ImageStore, StoredImage
from segpress.taxonomy import CLASSES

STATIC = Path(segpress.__file__).parent / "server" / "static"
LOCAL = "http://127.0.0.1:8000"  # the test client's address: the server takes local host names only


class CountingSegmenter(Segmenter):
    """The shipped model, counting how often the network runs."""

    def __init__(self) -> None:
        self.inner = default_segmenter()
        self.name = self.inner.name
        self.calls = 0

    def segment_batch(self, images):
        self.calls += len(images)
        return self.inner.segment_batch(images)


@pytest.fixture(scope="module")
def model() -> CountingSegmenter:
    return CountingSegmenter()


@pytest.fixture(scope="module")
def client(model) -> TestClient:
    app = create_app(ServerLimits(max_upload_bytes=2_000_000, max_pixels=4_000_000), model)
    with TestClient(app, base_url=LOCAL) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def cat() -> bytes:
    return chelsea_jpeg()


def upload(name: str, data: bytes, kind: str = "image/jpeg") -> dict:
    return {"file": (name, data, kind)}


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# --- what the server offers -------------------------------------------------------------------


def test_health_says_ok_with_the_limits(client):
    body = client.get("/api/v1/health").json()
    assert body["status"] == "ok" and body["version"] == segpress.__version__
    assert body["model"] == default_segmenter().name
    assert body["limits"]["max_upload_bytes"] == 2_000_000 and body["limits"]["max_pixels"] == 4_000_000


def test_formats_policies_and_classes_list_what_is_installed(client):
    formats = client.get("/api/v1/formats").json()
    assert [f["name"] for f in formats] == segpress.codecs.available_names()
    jpeg = formats[0]
    assert jpeg["media_type"] == "image/jpeg" and ".jpg" in jpeg["extensions"]
    policies = {p["name"]: p for p in client.get("/api/v1/policies").json()}
    assert list(policies) == available_policies() and "default" in policies
    assert policies["default"]["weights"]["person"] == 1.0
    assert set(policies["people"]["weights"]) == set(CLASSES)  # unlisted classes filled with the default
    classes = client.get("/api/v1/classes").json()
    assert [c["name"] for c in classes] == list(CLASSES)
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c["colour"]) for c in classes)


def test_openapi_documents_the_versioned_routes_and_multipart_uploads(client):
    schema = client.get("/openapi.json").json()
    assert {"/api/v1/compress", "/api/v1/segment", "/api/v1/images/{image_id}/compress"} <= set(schema["paths"])
    for path in ("/api/v1/compress", "/api/v1/segment"):
        assert list(schema["paths"][path]["post"]["requestBody"]["content"]) == ["multipart/form-data"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "cdn." not in docs.text  # the docs' scripts are served locally
    script = re.search(r'src="([^"]+swagger-ui-bundle\.js)"', docs.text).group(1)
    assert client.get(script).status_code == 200


def test_page_is_served_with_a_policy_that_keeps_it_local(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in ("app.js", "style.css", "favicon.svg"):
        assert client.get(f"/static/{name}").headers["content-security-policy"] == page.headers["content-security-policy"]
    for path in STATIC.iterdir():  # no CDN, no external fonts: every URL in the page's files is local
        text = path.read_text(encoding="utf-8")
        assert not re.findall(r"https?://(?!www\.w3\.org/2000/svg)", text), path.name


# --- segment ------------------------------------------------------------------------------------


def test_segment_keeps_the_image_under_its_hash(client, cat):
    response = client.post("/api/v1/segment", files=upload("cat.jpg", cat))
    assert response.status_code == 200
    body = response.json()
    assert body["image_id"] == hashlib.sha256(cat).hexdigest()
    assert (body["width"], body["height"], body["name"]) == (451, 300, "cat.jpg")
    assert sum(body["shares"].values()) == pytest.approx(1.0)
    assert max(body["shares"], key=body["shares"].get) == "animal"
    assert client.get(f"/api/v1/images/{body['image_id']}").json() == body

    original = decode(client.get(body["original_url"]).content)
    assert original.size == (451, 300) and original.format == "PNG"
    assert np.array_equal(np.asarray(original), segpress.imageio.load_image(cat).pixels)
    labels = decode(client.get(body["labels_url"]).content)
    assert labels.mode == "P" and labels.size == (451, 300)
    assert set(np.unique(np.asarray(labels))) <= set(range(len(CLASSES)))
    overlay = decode(client.get(body["overlay_url"]).content)
    assert overlay.width == 451 and overlay.height > 300  # the legend goes below the photo


def test_the_network_runs_once_per_distinct_upload(client, model, cat):
    other = small_photos()[1][1]
    before = model.calls
    first = client.post("/api/v1/segment", files=upload("a.jpg", other)).json()
    assert model.calls == before + 1
    client.post("/api/v1/segment", files=upload("again.jpg", other))
    for weights in ({"person": 0.0}, {"person": 1.0, "object": 1.0}, None):
        response = client.post(f"/api/v1/images/{first['image_id']}/compress", json={"weights": weights})
        assert response.status_code == 200
    client.post("/api/v1/compress", files=upload("a.jpg", other), data={"policy": "people"})
    assert model.calls == before + 1


# --- compress -----------------------------------------------------------------------------------


def test_compress_upload_returns_the_file_and_its_figures(client, cat):
    response = client.post("/api/v1/compress", files=upload("holiday photo.jpg", cat), data={"format": "webp"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/webp"
    assert response.headers["content-disposition"] == 'attachment; filename="holiday_photo.webp"'
    summary = json.loads(response.headers["x-segpress-summary"])
    assert summary["size"] == len(response.content) and summary["format"] == "webp"
    assert summary["source"] == f"model:{default_segmenter().name}"
    assert decode(response.content).size == (451, 300)
    assert response.headers["x-segpress-image-id"] == hashlib.sha256(cat).hexdigest()


def test_compress_gives_what_the_python_api_gives(client, cat):
    """The server's file is the library's file for the same image, policy and options."""
    weights = {"animal": 0.4, "person": 0.0}
    response = client.post(
        "/api/v1/compress", files=upload("cat.jpg", cat),
        data={"weights": json.dumps(weights), "roi_quality": "80", "bg_quality": "20", "response": "json"},
    )
    assert response.status_code == 200
    body = response.json()
    preset = load_policy("default")
    policy = Policy(name="x", weights={**preset.weights, **weights}, default=preset.default)
    expected = segpress.compress(cat, policy=policy, roi_quality=80, bg_quality=20)
    assert base64.b64decode(body["data"]) == expected.data
    assert body["summary"]["important_fraction"] == pytest.approx(expected.important_fraction)
    assert body["summary"]["saving"] == pytest.approx(expected.saving)
    assert body["weights"]["animal"] == 0.4 and body["weights"]["sky"] == 0.0
    assert body["filename"] == "cat.jpg" and body["media_type"] == "image/jpeg" and body["input_size"] == len(cat)


def test_class_weights_decide_what_is_kept(client, cat):
    image_id = client.post("/api/v1/segment", files=upload("cat.jpg", cat)).json()["image_id"]

    def kept(weights: dict, **options) -> dict:
        response = client.post(f"/api/v1/images/{image_id}/compress", json={"weights": weights, **options})
        assert response.status_code == 200, response.text
        return response.json()

    everything = kept({name: 1.0 for name in CLASSES})
    cat_only = kept({name: 0.0 for name in CLASSES} | {"animal": 1.0})
    nothing = kept({name: 0.0 for name in CLASSES})
    assert everything["summary"]["important_fraction"] == 1.0
    assert 0.5 < cat_only["summary"]["important_fraction"] < 1.0
    assert cat_only["regions"] == {"animal": pytest.approx(cat_only["regions"]["animal"])}
    assert nothing["summary"]["important_fraction"] == 0.0 and nothing["summary"]["saving"] is None
    assert nothing["summary"]["size"] < cat_only["summary"]["size"] < everything["summary"]["size"]
    # The cat fills most of this photo (95 % animal for the shipped model): the comparison ran, whatever it found.
    assert cat_only["summary"]["saving"] is not None and cat_only["preview"] is None

    budget = kept({"animal": 1.0}, target_size="12KB")
    assert budget["summary"]["size"] <= 12_000 and budget["summary"]["target_kind"] == "size"


def test_preview_shows_formats_browsers_cannot(client, cat):
    image_id = client.post("/api/v1/segment", files=upload("cat.jpg", cat)).json()["image_id"]
    body = client.post(f"/api/v1/images/{image_id}/compress", json={"format": "jxl", "preview": True}).json()
    assert body["filename"] == "cat.jxl" and body["media_type"] == "image/jxl"
    preview = decode(base64.b64decode(body["preview"]))
    assert preview.format == "PNG" and preview.size == (451, 300)
    decoded = segpress.codecs.get("jxl").decode(base64.b64decode(body["data"]))
    assert np.array_equal(np.asarray(preview), decoded)


def test_every_upload_format_and_mode_is_answered(client):
    for name, data, kind, size in small_photos():
        response = client.post("/api/v1/compress", files=upload(name, data, kind))
        assert response.status_code == 200, (name, response.text)
        assert decode(response.content).size == size
    rgba = np.zeros((40, 60, 4), np.uint8)
    rgba[..., 0], rgba[10:30, 20:40, 3] = 200, 255
    for pixels in (rgba, np.full((1, 1, 3), 90, np.uint8), np.zeros((7, 3000), np.uint8)):
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, "PNG")
        response = client.post("/api/v1/compress", files=upload("odd.png", buffer.getvalue(), "image/png"))
        assert response.status_code == 200, response.text


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "data", "kind", "status"), bad_uploads(), ids=lambda v: v if isinstance(v, str) else "")
def test_bad_uploads_get_a_4xx_json_error(client, name, data, kind, status):
    for route in ("/api/v1/compress", "/api/v1/segment"):
        response = client.post(route, files=upload(name, data, kind))
        assert response.status_code == status, response.text
        body = response.json()
        assert body["code"] and body["detail"] and "\n" not in body["detail"]
        if status == 422:
            assert body["code"] == "invalid_image" and body["detail"].startswith(name)
    assert client.get("/api/v1/health").status_code == 200


def test_an_image_the_format_cannot_hold_is_a_4xx_not_a_crash(client):
    buffer = io.BytesIO()
    Image.fromarray(np.full((16, 16400, 3), 90, np.uint8)).save(buffer, "PNG")  # libwebp's limit: 16383 across
    response = client.post("/api/v1/compress", files=upload("wide.png", buffer.getvalue(), "image/png"),
                           data={"format": "webp"})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "codec_error" and "webp encode failed" in response.json()["detail"]


def test_a_bomb_is_refused_from_its_header(client):
    body = client.post("/api/v1/compress", files=upload("bomb.png", png_claiming(30_000, 30_000), "image/png")).json()
    assert "900,000,000" in body["detail"] or "pixels" in body["detail"]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"roi_quality": "0"}, "roi_quality"),
        ({"roi_quality": "high"}, "roi_quality"),
        ({"roi_quality": "30", "bg_quality": "60"}, "above roi quality"),
        ({"format": "gif"}, "unknown format"),
        ({"policy": "/etc/passwd.toml"}, "unknown policy"),
        ({"policy": "../src/segpress/policies/default.toml"}, "unknown policy"),
        ({"weights": '{"dragon": 1}'}, "unknown class"),
        ({"weights": '{"person": 3}'}, "[0, 1]"),
        ({"weights": "person=1"}, "JSON object"),
        ({"weights": '{"person": ' + "[" * 100_000 + "]" * 100_000 + "}"}, "JSON object"),  # nested too deep to parse
        ({"target_size": "lots"}, "cannot read size"),
        ({"target_size": "10B"}, "smallest"),
        ({"target_size": "40KB", "target_roi_psnr": "40"}, "one target"),
        ({"subsampling": "4:1:1"}, "subsampling"),
        ({"response": "xml"}, "response"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_options_get_a_422_naming_the_problem(client, cat, fields, words):
    response = client.post("/api/v1/compress", files=upload("cat.jpg", cat), data=fields)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_option"
    assert words in response.json()["detail"]


def test_huge_margin_and_feather_fields_are_answered(client, cat):
    """margin=1e9 was a 500 (MemoryError): lengths past the image's size change nothing and cost nothing."""
    fields = {"margin": "1e9", "feather": "300000", "compare": "false", "response": "json"}
    response = client.post("/api/v1/compress", files=upload("cat.jpg", cat), data=fields)
    assert response.status_code == 200, response.text


def test_malformed_requests_get_4xx(client, cat):
    boundary = {"content-type": "multipart/form-data; boundary=xyz"}
    cases = [
        (client.post("/api/v1/compress", json={"format": "jpeg"}), 415),
        (client.post("/api/v1/compress", content=b"raw bytes", headers={"content-type": "image/jpeg"}), 415),
        (client.post("/api/v1/compress", content=b"--xyz\r\ngarbage", headers=boundary), 422),  # no file in it
        (client.post("/api/v1/compress", data={"format": "jpeg"}, files={"other": ("a", b"x")}), 422),
        (client.post("/api/v1/segment", content=b"", headers={"content-type": "multipart/form-data"}), 400),
        (client.post(f"/api/v1/images/{'0' * 64}/compress", json={}), 404),
        (client.get(f"/api/v1/images/{'0' * 64}/labels.png"), 404),
        (client.get("/api/v1/images/not-a-hash/labels.png"), 422),
        (client.post(f"/api/v1/images/{'0' * 64}/compress", content=b"{not json", headers={"content-type": "application/json"}), 422),
        (client.post(f"/api/v1/images/{'0' * 64}/compress", content=b"[" * 100_000 + b"]" * 100_000,
                     headers={"content-type": "application/json"}), 400),  # too deep for the parser
        (client.get("/api/v1/compress"), 405),
        (client.get("/api/v2/health"), 404),
    ]
    for response, status in cases:
        assert response.status_code == status, (response.request.url, response.text)
        assert set(response.json()) == {"detail", "code"}


def test_uploads_over_the_limit_get_413_before_work(client, model, cat):
    big = cat + bytes(2_100_000)  # a JPEG followed by junk, over the 2 MB limit
    before = model.calls
    response = client.post("/api/v1/compress", files=upload("big.jpg", big))
    assert response.status_code == 413 and response.json()["code"] == "too_large"

    def chunks():  # no Content-Length: counted as it arrives
        yield b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\n"
        for _ in range(40):
            yield bytes(100_000)

    response = client.post("/api/v1/compress", content=chunks(), headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert response.status_code == 413
    assert model.calls == before


def test_an_image_over_the_pixel_limit_is_refused(client):
    wide = np.zeros((1000, 4100), np.uint8)  # 4.1 MP, over the client's 4 MP limit, small as a PNG
    buffer = io.BytesIO()
    Image.fromarray(wide).save(buffer, "PNG")
    response = client.post("/api/v1/segment", files=upload("wide.png", buffer.getvalue(), "image/png"))
    assert response.status_code == 422 and "pixels" in response.json()["detail"]


# --- the pieces: pool, store --------------------------------------------------------------------


def test_the_pool_refuses_work_beyond_workers_and_queue():
    pool = WorkPool(workers=1, queue=1, timeout=5)
    release = threading.Event()

    async def scenario():
        first = asyncio.create_task(pool.run(release.wait))
        second = asyncio.create_task(pool.run(lambda: 2))
        await asyncio.sleep(0.05)
        with pytest.raises(Busy):
            await pool.run(lambda: 3)
        assert pool.jobs == 2
        release.set()
        return await first, await second

    assert asyncio.run(scenario()) == (True, 2)
    assert pool.jobs == 0
    pool.shutdown()


def test_a_job_over_the_timeout_is_answered_and_keeps_its_place_until_done():
    pool = WorkPool(workers=1, queue=0, timeout=0.1)

    async def scenario():
        with pytest.raises(Busy, match="longer than 0.1 s"):
            await pool.run(time.sleep, 0.4)
        assert pool.jobs == 1  # the thread still works: no new job may start beside it
        with pytest.raises(Busy, match="busy"):
            await pool.run(lambda: 1)
        await asyncio.sleep(0.5)
        return await pool.run(lambda: 1)

    assert asyncio.run(scenario()) == 1 and pool.jobs == 0
    pool.shutdown()


def test_jobs_wait_for_memory_in_turn_and_all_finish():
    """Work is admitted by its memory (the server must not run out of it); those that do not fit wait, none fails."""
    pixels = 10_000_000
    each = budget.job_bytes("compress:jpeg", pixels)
    pool = WorkPool(workers=4, queue=4, timeout=10, memory=each * 2 + 1)  # room for two at once
    running, most = 0, 0
    lock = threading.Lock()

    def job() -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.1)
        with lock:
            running -= 1
        return 1

    async def scenario():
        return await asyncio.gather(*(pool.run(job, kind="compress:jpeg", pixels=pixels) for _ in range(6)))

    assert asyncio.run(scenario()) == [1] * 6
    assert most == 2 and pool.memory.used == 0 and pool.jobs == 0
    with pytest.raises(OverBudget, match="needs about"):
        asyncio.run(pool.run(job, kind="compress:jpeg", pixels=pixels * 3))
    pool.shutdown()


def test_work_that_would_time_out_is_refused_at_once_with_a_meaningful_retry_after():
    """A client is told no at once rather than after the timeout: the pool learns how long a kind of job takes and refuses, at once, a job that the
    work ahead would push past the timeout; the ones it takes finish in time."""
    pool = WorkPool(workers=1, queue=20, timeout=1.0)

    async def scenario():
        await pool.run(time.sleep, 0.25, kind="slow", pixels=1_000_000)  # teaches ~0.25 s per job
        started = time.monotonic()
        tasks = [asyncio.create_task(pool.run(time.sleep, 0.25, kind="slow", pixels=1_000_000)) for _ in range(8)]
        answers = await asyncio.gather(*tasks, return_exceptions=True)
        return answers, time.monotonic() - started

    answers, seconds = asyncio.run(scenario())
    done = [a for a in answers if not isinstance(a, Exception)]
    refused = [a for a in answers if isinstance(a, Busy)]
    assert len(done) + len(refused) == 8 and 2 <= len(done) <= 5, answers
    assert all("work is ahead" in str(error) and 1 <= error.retry_after <= 3 for error in refused)
    assert seconds < 2.0  # nobody waited for the timeout
    pool.shutdown()


def test_a_job_is_sized_from_the_upload_header(cat):
    from segpress.server import service

    width, height = Image.open(io.BytesIO(cat)).size
    assert service.upload_pixels(cat, 10**9) == width * height
    assert service.upload_pixels(cat, 1000) == 1000  # more is refused when it is decoded
    assert service.upload_pixels(b"not an image", 10**9) == 0


def test_the_memory_budget_must_leave_room_for_work():
    with pytest.raises(OptionError, match="leaves no room for work"):
        ServerLimits(memory=500_000_000)
    assert ServerLimits().work_memory == 3_000_000_000 - 400_000_000 - 512 * 1024 * 1024


def test_busy_answers_503_with_retry_after(cat):
    slow = CountingSegmenter()
    release = threading.Event()
    slow.segment_batch = lambda images: (release.wait(10), slow.inner.segment_batch(images))[1]
    app = create_app(ServerLimits(workers=1, queue=0, timeout=10), slow)
    with TestClient(app, base_url=LOCAL) as test_client:
        worker = threading.Thread(target=lambda: test_client.post("/api/v1/segment", files=upload("a.jpg", cat)))
        worker.start()
        time.sleep(0.3)
        try:
            response = test_client.post("/api/v1/segment", files=upload("b.jpg", cat + b"x"))
            assert response.status_code == 503 and response.headers["retry-after"] == "1"
            assert response.json()["code"] == "busy"
        finally:
            release.set()
            worker.join()
        assert test_client.get("/api/v1/health").json()["jobs"] == 0


def test_only_local_host_names_are_served_by_default(client):
    """DNS rebinding: a page whose name resolves to 127.0.0.1 still sends its own name as Host."""
    for host in ("localhost", "localhost:8000", "127.0.0.1:1234", "[::1]:8000", "LocalHost."):
        assert client.get("/api/v1/health", headers={"host": host}).status_code == 200, host
    for host in ("evil.example", "evil.example:8000", "localhost.evil.example", "127.0.0.1.nip.io", "[::2]"):
        for response in (client.get("/api/v1/health", headers={"host": host}), client.get("/", headers={"host": host}),
                         client.post("/api/v1/segment", headers={"host": host}, files=upload("a.jpg", b"x"))):
            assert response.status_code == 400, (host, response.text)
            assert response.json()["code"] == "bad_request" and host in response.json()["detail"]


def test_allowed_host_names_are_configurable(model):
    named = create_app(ServerLimits(allowed_hosts=allowed_hosts_for("127.0.0.1", ["photos.lan"])), model)
    with TestClient(named, base_url="http://photos.lan:8000") as test_client:
        assert test_client.get("/api/v1/health").status_code == 200
        assert test_client.get("/api/v1/health", headers={"host": "localhost:8000"}).status_code == 200
        assert test_client.get("/api/v1/health", headers={"host": "other.lan"}).status_code == 400
    anywhere = create_app(ServerLimits(allowed_hosts=allowed_hosts_for("0.0.0.0")), model)
    with TestClient(anywhere, base_url="http://any.name.example") as test_client:
        assert test_client.get("/api/v1/health").status_code == 200


def test_serve_passes_allowed_hosts_to_the_server(capsys, monkeypatch):
    import socket

    import segpress.server

    started = {}
    monkeypatch.setattr(segpress.server, "serve", lambda host, port, limits, model: started.update(limits=limits))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert main(["serve", "--port", str(port), "--allowed-host", "photos.lan", "--allowed-host", "::1"]) == 0
    assert started["limits"].allowed_hosts == ("localhost", "127.0.0.1", "[::1]", "photos.lan", "[::1]")
    assert main(["serve", "--port", str(port)]) == 0
    assert started["limits"].allowed_hosts == ("localhost", "127.0.0.1", "[::1]")


def test_requests_beyond_the_limit_get_a_json_503_at_once():
    gate = asyncio.Event()
    sent: list[dict] = []

    async def slow_app(scope, receive, send):
        await gate.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}

    limited = RequestLimit(slow_app, limit=1)

    async def scenario():
        first = asyncio.create_task(limited({"type": "http"}, receive, send))
        await asyncio.sleep(0)  # the first request is in progress
        await limited({"type": "http"}, receive, send)  # refused without waiting
        gate.set()
        await first

    asyncio.run(scenario())
    assert sent[0]["status"] == 503 and (b"retry-after", b"1") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["code"] == "busy"
    assert sent[2]["status"] == 200 and limited.active == 0


def test_the_store_drops_the_least_recently_used():
    segmentation = default_segmenter().segment(np.zeros((32, 32, 3), np.uint8))
    store = ImageStore(entries=2, max_bytes=10**9)
    images = [StoredImage(str(i), f"{i}.png", b"x", segmentation, {}, []) for i in range(3)]
    store.put(images[0])
    store.put(images[1])
    assert store.get("0") is images[0]  # now the most recent
    store.put(images[2])
    assert store.get("1") is None and store.get("0") is images[0] and len(store) == 2
    small = ImageStore(entries=10, max_bytes=1)  # the newest is always kept, even over the byte bound
    small.put(images[0])
    small.put(images[1])
    assert len(small) == 1 and small.get("1") is images[1]


# --- command line -------------------------------------------------------------------------------


def test_serve_command_checks_its_options(capsys):
    assert main(["serve", "--help"]) == 0
    assert "--port" in capsys.readouterr().out
    assert main(["serve", "--max-upload", "lots"]) == 2
    assert "error:" in capsys.readouterr().err
    assert main(["serve", "--workers", "0"]) == 2
    assert "workers" in capsys.readouterr().err


def test_serve_refuses_an_address_it_cannot_have_in_one_line(capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: cannot listen on 127.0.0.1:") and "\n" not in error
    assert main(["serve", "--port", "70000"]) == 2


def test_a_policy_with_text_detects_once_per_upload(client, cat, monkeypatch):
    from segpress.server import service
    from segpress.text import default_detector

    calls = []

    class Counting:
        def __init__(self, scale=None):
            self.scale = scale

        def detect(self, pixels):
            calls.append((pixels.shape, self.scale))
            return default_detector(self.scale).detect(pixels)

    monkeypatch.setattr(service, "default_detector", Counting)
    image_id = client.post("/api/v1/segment", files=upload("cat.jpg", cat)).json()["image_id"]
    for quality in (40, 60):
        response = client.post(f"/api/v1/images/{image_id}/compress", json={"policy": "text", "roi_quality": quality})
        assert response.status_code == 200, response.text
        assert response.json()["summary"]["source"].endswith("+text")
    assert len(calls) == 1 and calls[0][1] == PRESETS["text"].text_scale  # at the preset's scale
