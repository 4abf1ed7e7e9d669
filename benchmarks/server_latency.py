"""Time from upload to the first before/after comparison of a 1-megapixel photo on `segpress serve`.

    .venv/bin/python benchmarks/server_latency.py [--repeat 10] [--no-browser] [--out benchmarks/results]

The server runs as its own process (`segpress serve` on 127.0.0.1, a free port, default limits), as a
user would start it; the client is this script. Every repetition uploads a new photo (scikit-image's
astronaut resized to 1000x1000 = 1.0 MP, a JPEG at quality 92 with a different comment each time, so
that no upload is a repeat and the network runs every time), after one warm-up upload.

- *HTTP, as the page does it*: POST /api/v1/segment, then at once, in parallel, POST
  /api/v1/images/{id}/compress (JPEG, the default policy and qualities, no comparison), GET
  original.png and GET labels.png: the first comparison is there when all three are in; then the same
  compress with the comparison against uniform encoding, for the saving (the page's second step).
- *HTTP, one call*: POST /api/v1/compress of the same kind of upload (the file back).
- *Under load* (``--concurrent N``, 30; 0 skips it): N different 2 MP uploads (the astronaut at
  1633x1225, JPEG q92) sent at once to POST /api/v1/compress with the API's defaults (JPEG, the
  comparison against uniform on), after the measures above have taught the server how long its jobs
  take: per answer its status, time and ``Retry-After``; p50 / p95 of the times of the 200s and of the
  503s. The server refuses at once what its backlog would not let finish within ``--timeout`` (60 s):
  before it did, 19 of 30 got their 503 only after the 60 s.
- *Browser* (unless --no-browser): the page in headless chromium (Playwright, Debian's chromium), the
  file put into the file picker; the page's own measure from the pick until both pictures of the
  comparison are decoded and on screen (`data-first-ms`), and, seen from outside, until the saving
  is shown too.

Target (the page must feel interactive): <= 1.5 s from upload to first comparison for a 1 MP photo on the 2-core machine.
Writes ``server_latency.json`` (every timing) and ``server_latency.md`` into ``--out``.
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Self

import httpx2 as httpx
import numpy as np
from PIL import Image
from skimage import data

from segpress.bench.record import Run, machine_line

TARGET_SECONDS = 1.5
SIDE = 1000  # 1000 x 1000 = 1.0 MP
LOAD_SIZE = (1633, 1225)  # 2.0 MP, 4:3: the uploads of the load measure
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]


def photos(count: int) -> list[bytes]:
    """``count`` different uploads of the same 1 MP picture (a JPEG comment differs), as a camera would
    send it; the server knows uploads by their bytes, so each is new to it."""
    base = np.asarray(Image.fromarray(data.astronaut()).resize((SIDE, SIDE), Image.Resampling.LANCZOS))
    uploads = []
    for index in range(count):
        buffer = io.BytesIO()
        Image.fromarray(base).save(buffer, "JPEG", quality=92, comment=f"upload {index}")
        uploads.append(buffer.getvalue())
    return uploads


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`segpress serve` in its own process, stopped on exit."""

    def __init__(self) -> None:
        self.url = f"http://127.0.0.1:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        command = [sys.executable, "-c", "from segpress.cli import run; run()", "serve", "--port", port]
        self.log = tempfile.TemporaryFile()  # a file, not a pipe: an unread pipe would stall the server
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=self.log)

    def __enter__(self) -> Self:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"segpress serve exited: {self.log.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("segpress serve did not answer within 60 s")

    def __exit__(self, *_exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def page_flow(client: httpx.Client, upload: bytes, pool: ThreadPoolExecutor) -> dict[str, float]:
    """What the page asks for, timed: segment; then the file (no comparison), original.png and
    labels.png at once, which make the first comparison; then the file with the uniform comparison."""
    started = time.perf_counter()
    response = client.post("/api/v1/segment", files={"file": ("photo.jpg", upload, "image/jpeg")})
    response.raise_for_status()
    image = response.json()
    segmented = time.perf_counter()
    options = {"format": "jpeg", "policy": "default"}
    path = f"/api/v1/images/{image['image_id']}/compress"
    compress = pool.submit(client.post, path, json={**options, "compare": False})
    pictures = [pool.submit(client.get, image[key]) for key in ("original_url", "labels_url")]
    for future in (compress, *pictures):
        future.result().raise_for_status()
    compared = time.perf_counter()
    response = client.post(path, json={**options, "compare": True})
    response.raise_for_status()
    done = time.perf_counter()
    first, summary = compress.result().json()["summary"], response.json()["summary"]
    return {
        "first_comparison": compared - started, "segment_request": segmented - started,
        "comparison_requests": compared - segmented, "saving_shown": done - started,
        "server_segment": image["seconds"], "server_encode": first["encode_seconds"],
        "bytes": summary["size"], "saving": summary["saving"],
    }


def one_call(client: httpx.Client, upload: bytes) -> float:
    started = time.perf_counter()
    response = client.post("/api/v1/compress", files={"file": ("photo.jpg", upload, "image/jpeg")})
    response.raise_for_status()
    return time.perf_counter() - started


def concurrent_uploads(url: str, count: int) -> list[dict]:
    """``count`` different 2 MP uploads to POST /api/v1/compress at once, default options: each answer's
    status, seconds from the burst's start, and Retry-After."""
    base = np.asarray(Image.fromarray(data.astronaut()).resize(LOAD_SIZE, Image.Resampling.LANCZOS))
    uploads = []
    for index in range(count):
        buffer = io.BytesIO()
        Image.fromarray(base).save(buffer, "JPEG", quality=92, comment=f"load {index}")
        uploads.append(buffer.getvalue())
    started = time.perf_counter()

    def post(upload: bytes) -> dict:
        with httpx.Client(base_url=url, timeout=300) as client:
            response = client.post("/api/v1/compress", files={"file": ("photo.jpg", upload, "image/jpeg")})
        return {"status": response.status_code, "seconds": time.perf_counter() - started,
                "retry_after": response.headers.get("retry-after"),
                "detail": None if response.status_code == 200 else response.json().get("detail")}

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(post, uploads))


def percentiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)
    return {"p50": float(np.percentile(ordered, 50)), "p95": float(np.percentile(ordered, 95)),
            "max": ordered[-1], "count": len(ordered)}


def browser_runs(url: str, uploads: list[bytes], chromium: str) -> list[dict[str, float]]:
    from playwright.sync_api import sync_playwright

    runs = []
    with tempfile.TemporaryDirectory() as work, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(Path(work) / "profile"), executable_path=chromium, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 900},
        )
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]")
        for index, upload in enumerate(uploads):
            photo = Path(work) / f"photo-{index}.jpg"
            photo.write_bytes(upload)
            shown = page.get_attribute("#stage-wrap", "data-sequence") or "0"
            started = time.perf_counter()
            page.set_input_files("#file", str(photo))
            page.wait_for_selector(f"#stage-wrap[data-sequence]:not([data-sequence='{shown}'])", timeout=60_000)
            page.wait_for_selector("#busy", state="hidden", timeout=60_000)
            outside = time.perf_counter() - started
            runs.append({"page": int(page.get_attribute("#stage-wrap", "data-first-ms")) / 1000, "outside": outside})
        context.close()
    return runs


def spread(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": statistics.median(ordered), "p90": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
        "min": ordered[0], "max": ordered[-1],
    }


def markdown(document: dict) -> str:
    report = document["results"]
    setting = (
        f"{machine_line(document)}; segpress {document['versions']['segpress']}, "
        f"{document['settings']['repeat']} uploads of a {SIDE}x{SIDE} JPEG (after one warm-up), server: "
        "`segpress serve` defaults."
    )
    lines = [
        "# server_latency: upload to first comparison, 1 MP photo",
        "",
        setting,
        "",
        "| measure | median | p90 | min | max | target |",
        "|---|---|---|---|---|---|",
    ]

    def row(name: str, values: dict[str, float], target: bool = False) -> None:
        cells = " | ".join(f"{values[k]:.3f} s" for k in ("median", "p90", "min", "max"))
        goal = f"<= {TARGET_SECONDS} s: {'met' if values['median'] <= TARGET_SECONDS else '**missed**'} (median)" if target else ""
        lines.append(f"| {name} | {cells} | {goal} |")

    summary = report["summary"]
    row("HTTP as the page: first comparison (segment, then file + original + labels)", summary["http_first"], target=True)
    row("  of which the segment request", summary["http_segment_request"])
    row("  of which the comparison's requests (in parallel)", summary["http_comparison_requests"])
    row("HTTP as the page: the saving against uniform known too", summary["http_saving"])
    row("  server: network run (segment)", summary["server_segment"])
    row("  server: encode (without the uniform comparison)", summary["server_encode"])
    row("HTTP, one POST /api/v1/compress", summary["one_call"])
    if "browser_page" in summary:
        row("browser: file picked -> comparison on screen (page's clock)", summary["browser_page"], target=True)
        row("browser: file picked -> comparison and saving shown (seen by Playwright)", summary["browser_outside"])
    load = report.get("concurrent")
    if load:
        lines += [
            "",
            f"Under load: {load['count']} different {LOAD_SIZE[0]}x{LOAD_SIZE[1]} (2.0 MP) JPEG uploads at once to "
            "`POST /api/v1/compress`, default options (JPEG, comparison on), after the measures above:",
            "",
            "| answers | count | p50 | p95 | max | Retry-After |",
            "|---|---|---|---|---|---|",
        ]
        for status, figures in load["by_status"].items():
            after = sorted({a["retry_after"] for a in load["answers"] if str(a["status"]) == status and a["retry_after"]})
            lines.append(f"| {status} | {figures['count']} | {figures['p50']:.2f} s | {figures['p95']:.2f} s | "
                         f"{figures['max']:.2f} s | {', '.join(after) + ' s' if after else ''} |")
    lines += ["", f"Reproduce: `{document['command']}`", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=10, help="uploads measured per measure (after one warm-up)")
    parser.add_argument("--no-browser", action="store_true", help="skip the browser measure")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--concurrent", type=int, default=30, help="2 MP uploads sent at once (0: skip)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    run = Run("server_latency", sys.argv[1:], ("httpx2", "playwright"))  # records the load at the start
    uploads = photos(3 * (args.repeat + 1))
    http_uploads, single_uploads, browser_uploads = (uploads[i::3] for i in range(3))
    with Server() as server, httpx.Client(base_url=server.url, timeout=120) as client, ThreadPoolExecutor(4) as pool:
        page_flow(client, http_uploads[0], pool)  # warm-up: first requests load the model and codecs
        flows = [page_flow(client, upload, pool) for upload in http_uploads[1:]]
        one_call(client, single_uploads[0])
        singles = [one_call(client, upload) for upload in single_uploads[1:]]
        browser = None
        if not args.no_browser:
            os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
            browser = browser_runs(server.url, browser_uploads, args.chromium)[1:]
        load = None
        if args.concurrent > 0:
            answers = concurrent_uploads(server.url, args.concurrent)
            statuses = sorted({str(a["status"]) for a in answers})
            load = {"count": args.concurrent, "answers": answers, "by_status": {
                status: percentiles([a["seconds"] for a in answers if str(a["status"]) == status])
                for status in statuses
            }}

    summary = {key: spread([flow[name] for flow in flows]) for key, name in (
        ("http_first", "first_comparison"), ("http_saving", "saving_shown"), ("http_segment_request", "segment_request"),
        ("http_comparison_requests", "comparison_requests"), ("server_segment", "server_segment"),
        ("server_encode", "server_encode"),
    )}
    summary["one_call"] = spread(singles)
    if browser:
        summary["browser_page"] = spread([run["page"] for run in browser])
        summary["browser_outside"] = spread([run["outside"] for run in browser])
    settings = {
        "repeat": args.repeat, "browser": not args.no_browser, "concurrent": args.concurrent,
        "photo": {"width": SIDE, "height": SIDE, "format": "JPEG q92", "bytes": len(http_uploads[0])},
        "target_seconds": TARGET_SECONDS,
    }
    results = {"summary": summary, "http_page_flow": flows, "http_one_call": singles, "browser": browser,
               "concurrent": load}
    print(markdown(run.write(args.out, settings, results, markdown)))


if __name__ == "__main__":
    main()
