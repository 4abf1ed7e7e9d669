"""Peak memory of ``segpress compress`` per megapixel, above the decoded image.

    .venv/bin/python benchmarks/memory.py [--sizes 1 12 40] [--formats jpeg webp] [--no-compare]
                                          [--server] [--out benchmarks/results]

Each measure runs in a fresh Python process (``--child``), so one measure's peak is not another's:
the process imports segpress, compresses a small picture in the same format once (the model and the
codec loaded, their memory in the baseline), reads its resident size (VmRSS), resets the peak
(``/proc/self/clear_refs``), then runs ``segpress.compress(path, format=...)`` on a PNG of the size
asked (scikit-image's astronaut enlarged, 4:3, plus a little noise so the encoders have detail to code)
with the defaults (the shipped segmenter, the default policy, the uniform comparison unless
``--no-compare``) and reads the peak resident size (VmHWM). Reported per pixel:

    above decoded = (peak - baseline - 3 bytes x pixels) / pixels

(the decoded RGB picture itself is 3 bytes per pixel). Targets (peak memory bounded per pixel, where a 169 MP PNG once took
4.35 GB): <= 24 bytes per pixel for JPEG, <= 40 for the other formats.

``--server``: ``segpress serve --memory 3GB --timeout 600 --max-upload 100MB`` in its own process, four 40 MP PNG uploads
to ``POST /api/v1/compress`` at once (JPEG, no comparison, so the run stays within minutes); reports the
server's peak resident size (VmHWM of its process), each answer's status and time. Target: under 3 GB,
every upload answered 200 (the ones over the budget wait their turn).

Writes ``memory.json`` and ``memory.md`` into ``--out``. RSS counts what the C libraries allocate too
(Pillow, libjpeg, libwebp, onnxruntime), which tracemalloc does not see; the allocator's free lists
make it a little noisy (a few bytes per pixel at 1 MP).
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from segpress.bench.record import Run, machine_line

TARGETS = {"jpeg": 24.0}  # bytes per pixel above the decoded image
OTHER_TARGET = 40.0
SERVER_MEMORY = "3GB"
SERVER_BYTES = 3_000_000_000
SERVER_UPLOADS = 4
SERVER_MEGAPIXELS = 40


def status_bytes(field: str, pid: str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def make_png(megapixels: float, path: Path) -> tuple[int, int]:
    """A photo-like PNG of about ``megapixels`` (4:3): the astronaut enlarged, with mild noise."""
    from skimage import data

    width = round((megapixels * 1e6 * 4 / 3) ** 0.5)
    height = round(megapixels * 1e6 / width)
    if not path.exists():
        picture = np.asarray(Image.fromarray(data.astronaut()).resize((width, height), Image.Resampling.BILINEAR))
        noise = np.random.default_rng(0).integers(-6, 7, size=(height, 1, 3), dtype=np.int16)
        rows = np.random.default_rng(1).integers(-6, 7, size=(1, width, 3), dtype=np.int16)
        noisy = np.empty_like(picture)
        step = 512
        for top in range(0, height, step):  # in strips: the int16 sum of a 100 MP picture would take 600 MB
            strip = picture[top : top + step].astype(np.int16) + noise[top : top + step] + rows
            noisy[top : top + step] = np.clip(strip, 0, 255)
        del picture
        Image.fromarray(noisy).save(path, compress_level=1)
    return width, height


def child(path: str, format: str, compare: bool) -> None:
    """One measure, in this process: prints a JSON line."""
    from skimage import data

    import segpress

    segpress.compress(data.astronaut(), format=format, compare=compare)  # model, codec and their buffers loaded
    baseline = status_bytes("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again from here
        reset = True
    except OSError:
        reset = False
    started = time.perf_counter()
    result = segpress.compress(path, format=format, compare=compare, max_pixels=400_000_000)
    seconds = time.perf_counter() - started
    print(json.dumps({
        "baseline": baseline, "peak": status_bytes("VmHWM"), "peak_reset": reset, "seconds": seconds,
        "width": result.width, "height": result.height, "bytes": result.size, "saving": result.saving,
    }))


def measure(path: Path, format: str, compare: bool) -> dict:
    script = Path(__file__).resolve()
    command = [sys.executable, str(script), "--child", str(path), format] + ([] if compare else ["--no-compare"])
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    found = json.loads(output.strip().splitlines()[-1])
    pixels = found["width"] * found["height"]
    found["pixels"] = pixels
    found["above_decoded_per_pixel"] = (found["peak"] - found["baseline"] - 3 * pixels) / pixels
    found["total_per_pixel"] = (found["peak"] - found["baseline"]) / pixels
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_run(path: Path) -> dict:
    """Four 40 MP uploads at once to a server with a 3 GB budget: its peak RSS and every answer."""
    import httpx2 as httpx

    port = free_port()
    command = [sys.executable, "-c", "from segpress.cli import run; run()", "serve", "--port", str(port),
               "--memory", SERVER_MEMORY, "--timeout", "600", "--max-upload", "100MB"]
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"segpress serve did not start: {log.read().decode()[-2000:]}")
            time.sleep(0.2)
        started_rss = status_bytes("VmRSS", str(process.pid))
        upload = path.read_bytes()

        def post(index: int) -> dict:
            began = time.perf_counter()
            with httpx.Client(base_url=url, timeout=900) as client:
                response = client.post(
                    "/api/v1/compress", files={"file": (f"big-{index}.png", upload, "image/png")},
                    data={"format": "jpeg", "compare": "false"},
                )
            return {"status": response.status_code, "seconds": time.perf_counter() - began,
                    "detail": None if response.status_code == 200 else response.text[:300]}

        with ThreadPoolExecutor(SERVER_UPLOADS) as pool:
            answers = list(pool.map(post, range(SERVER_UPLOADS)))
        peak = status_bytes("VmHWM", str(process.pid))
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()
    return {"memory": SERVER_MEMORY, "uploads": SERVER_UPLOADS, "megapixels": SERVER_MEGAPIXELS,
            "rss_at_start": started_rss, "peak_rss": peak, "answers": answers,
            "met": peak <= SERVER_BYTES and all(a["status"] == 200 for a in answers)}


def markdown(report: dict) -> str:
    versions, settings, results = report["versions"], report["settings"], report["results"]
    lines = [
        "# memory: peak RSS of compress per megapixel",
        "",
        f"{machine_line(report)}: times are noisy; segpress {versions['segpress']}, "
        f"numpy {versions['numpy']}, Pillow {versions['pillow']}. `segpress.compress(png_path, format=...)` at the "
        f"defaults (shipped segmenter, default policy, comparison {'on' if settings['compare'] else 'off'}), each "
        "in a fresh process after a warm-up; peak = VmHWM after resetting it at the baseline.",
        "",
        "| format | size | pixels | peak above baseline | per pixel | per pixel above the decoded image | target | time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in results["runs"]:
        target = TARGETS.get(row["format"], OTHER_TARGET)
        met = "met" if row["above_decoded_per_pixel"] <= target else "**missed**"
        lines.append(
            f"| {row['format']} | {row['width']}x{row['height']} | {row['pixels'] / 1e6:.1f} MP | "
            f"{(row['peak'] - row['baseline']) / 1e6:,.0f} MB | {row['total_per_pixel']:.1f} B | "
            f"{row['above_decoded_per_pixel']:.1f} B | <= {target:g} B: {met} | {row['seconds']:.1f} s |"
        )
    server = results.get("server")
    if server:
        statuses = ", ".join(f"{a['status']} in {a['seconds']:.0f} s" for a in server["answers"])
        lines += [
            "",
            f"Server: `segpress serve --memory {server['memory']} --timeout 600 --max-upload 100MB`, {server['uploads']} uploads of a "
            f"{server['megapixels']} MP PNG at once to `POST /api/v1/compress` (JPEG, no comparison): RSS "
            f"{server['rss_at_start'] / 1e6:,.0f} MB at the start, peak {server['peak_rss'] / 1e6:,.0f} MB "
            f"({'under' if server['peak_rss'] <= SERVER_BYTES else '**over**'} {server['memory']}); answers: {statuses}.",
        ]
    lines += ["", f"Reproduce: `{report['command']}`"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", nargs=2, metavar=("PATH", "FORMAT"), help=argparse.SUPPRESS)
    parser.add_argument("--sizes", type=float, nargs="*", default=[1, 12, 40], help="megapixels (none: only --server)")
    parser.add_argument("--formats", nargs="+", default=["jpeg", "webp"])
    parser.add_argument("--no-compare", dest="compare", action="store_false")
    parser.add_argument("--server", action="store_true", help="also the 4 x 40 MP server run")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.compare)
        return
    run = Run("memory", sys.argv[1:])
    settings = {"compare": args.compare, "sizes_megapixels": args.sizes, "formats": args.formats,
                "server": args.server}
    results: dict = {"runs": []}
    with tempfile.TemporaryDirectory(prefix="segpress-memory-") as work:
        for megapixels in args.sizes:
            path = Path(work) / f"{megapixels:g}mp.png"
            make_png(megapixels, path)
            for format in args.formats:
                row = {"format": format, "megapixels": megapixels, **measure(path, format, args.compare)}
                print(f"{format} {megapixels:g} MP: {row['above_decoded_per_pixel']:.1f} B/px above the decoded image, "
                      f"{row['seconds']:.1f} s", flush=True)
                results["runs"].append(row)
        if args.server:
            path = Path(work) / f"{SERVER_MEGAPIXELS}mp.png"
            make_png(SERVER_MEGAPIXELS, path)
            results["server"] = server_run(path)
            print(json.dumps(results["server"]), flush=True)
    print(markdown(run.write(args.out, settings, results, markdown)))


if __name__ == "__main__":
    main()
