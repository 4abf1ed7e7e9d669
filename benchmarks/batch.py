"""Benchmark of ``segpress batch``: images per second and memory per worker, local and on Ray.

    .venv/bin/python benchmarks/batch.py [--camvid ../shared/data/camvid] [--limit N] [--single N] [--out benchmarks/results]

On the CamVid val frames (101 PNGs, 480x360), all with the shipped model, the default policy, JPEG,
``compare`` off (``--no-compare``, so no fallback check either), in this order and in one run:

1. ``segpress compress FRAMES... -o DIR --no-compare``: one process, one image at a time (the model
   loaded once).
2. ``segpress compress FRAME -o FILE --no-compare`` once per frame, a new process each time, for the
   first ``--single`` frames (default 10): what a shell loop over the archive costs.
3. ``segpress batch`` local engine with 1 worker, then 2 workers (``segpress.batch.run_batch``, in
   this process; worker start-up and model loading included).
4. The Ray engine with 2 segmentation actors on a local Ray instance (2 CPUs) started before the
   timing; its start-up is reported apart. Actor start-up and model loading are included. Run twice:
   the instance's first job (Ray Data also starts its own helper actors then) and a second job on the
   same instance (as on a running cluster).
5. A larger job: the frames ``--copies`` times (default 5, hard links in as many folders, 505 inputs),
   local with 2 workers and Ray (a further job on the same instance): start-up is then a smaller part.

For each batch run: images/s over the whole run (first input given to the engine to last record),
the steady rate (records after the first, over the time from the first record to the last), and peak
resident memory per worker process: the local workers report their own ``ru_maxrss``; for Ray, the
``VmHWM`` of every Ray worker process below this one (``/proc``) is read twice a second during the run.

Targets (what makes a second worker and the Ray engine worth having): local engine with 2 workers >= 1.7x the throughput of 1 worker on 2 cores; the
Ray engine within 25 % of the local engine's throughput (2 workers). Both on images/s over the whole
run; the Ray ratio is given for the larger job, for each 101-frame job and for the steady rate.
Writes ``batch.json`` and ``batch.md`` into ``--out``. Not a test: it needs the CamVid data and takes a
few minutes on 2 quiet cores.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from segpress.bench.record import Run, machine_line

REPO = Path(__file__).resolve().parent.parent
TARGETS = {"two_workers_speedup": 1.7, "ray_vs_local": 0.75}
CLI = [sys.executable, "-c", "from segpress.cli import run; run()"]
# A local Ray instance, as the CLI would start it: loopback only, no token auth, no usage reports.
RAY_ENVIRONMENT = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "disabled",
                   "RAY_USAGE_STATS_ENABLED": "0"}


class Timeline:
    """An observer of run_batch: when each record arrived."""

    def start(self, total: int) -> None:
        self.started = time.perf_counter()
        self.arrivals: list[float] = []

    def advance(self, record: dict) -> None:
        self.arrivals.append(time.perf_counter() - self.started)

    def steady_rate(self) -> float | None:
        if len(self.arrivals) < 2 or self.arrivals[-1] <= self.arrivals[0]:
            return None
        return (len(self.arrivals) - 1) / (self.arrivals[-1] - self.arrivals[0])


def timed_process(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - started


def compress_one_process(frames: list[Path], folder: Path) -> dict:
    seconds = timed_process([*CLI, "compress", *map(str, frames), "-o", f"{folder}/", "--no-compare"])
    return {"images": len(frames), "seconds": seconds, "images_per_second": len(frames) / seconds}


def compress_process_per_image(frames: list[Path], folder: Path) -> dict:
    seconds = sum(timed_process([*CLI, "compress", str(frame), "-o", str(folder / f"{frame.stem}.jpg"),
                                 "--no-compare"]) for frame in frames)
    return {"images": len(frames), "seconds": seconds, "images_per_second": len(frames) / seconds}


def batch_run(source: Path, destination: Path, engine: str, workers: int) -> dict:
    from segpress.batch import job_settings, run_batch

    timeline, sampler = Timeline(), MemorySampler()
    if engine == "ray":
        sampler.start()  # Ray's actors are gone when the run returns: watch them while it runs
    try:
        summary = run_batch(str(source), str(destination), job_settings(compare=False), engine=engine, workers=workers,
                            observer=timeline)
    finally:
        sampler.finish()
    if summary.failed or summary.done != summary.found:
        raise SystemExit(f"{engine} x{workers}: {summary.failed} failed, {summary.done} of {summary.found} done")
    memory = summary.worker_peak_rss if engine == "local" else sampler.summary()
    return {
        "engine": engine, "workers": workers, "images": summary.done, "seconds": summary.seconds,
        "images_per_second": summary.images_per_second, "steady_images_per_second": timeline.steady_rate(),
        "first_record_seconds": timeline.arrivals[0], "bytes_in": summary.bytes_in, "bytes_out": summary.bytes_out,
        "worker_peak_rss": memory,
    }


class MemorySampler(threading.Thread):
    """Reads the peak resident memory (VmHWM) of the Ray worker processes below this one twice a second."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peaks: dict[int, tuple[str, int]] = {}  # pid -> (the most telling title seen, bytes)
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(0.5):
            self.sample()

    def finish(self) -> None:
        if self.is_alive():
            self._done.set()
            self.join()

    def sample(self) -> None:
        for pid in descendants(os.getpid()):
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            if not title.startswith("ray::"):
                continue
            peak = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) * 1024
            known_title, known_peak = self.peaks.get(pid, (title, 0))
            self.peaks[pid] = (known_title if title == "ray::IDLE" else title, max(peak, known_peak))

    def summary(self) -> dict[str, int]:
        """Peak bytes of each Ray worker process, named by its title and pid."""
        return {f"{title} (pid {pid})": peak for pid, (title, peak) in sorted(self.peaks.items())}


def job_workers(memory: dict[str, int]) -> list[int]:
    """The peaks of the processes that ran the job: segmentation actors and task workers, not Ray's own."""
    return [peak for name, peak in memory.items() if any(word in name for word in ("MapWorker", "MapBatches", "IDLE"))]


def descendants(root: int) -> list[int]:
    """Every process below ``root`` (Ray's raylet is this process's child, its workers the raylet's)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def start_ray(folder: str) -> float:
    os.environ.update({k: v for k, v in RAY_ENVIRONMENT.items() if k not in os.environ})
    import ray

    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False,
             _temp_dir=folder)
    return time.perf_counter() - started


def markdown(document: dict) -> str:
    report, settings = document["results"], document["settings"]
    runs = report["runs"]
    local1, local2, on_ray = runs["local_1"], runs["local_2"], runs.get("ray_2")
    labels = {
        "local_1": "batch, local, 1 worker", "local_2": "batch, local, 2 workers",
        "ray_2": "batch, Ray (local instance, its first job), 2 actors",
        "ray_2_again": "batch, Ray (the same instance, second job), 2 actors",
        "local_2_large": "larger job: batch, local, 2 workers",
        "ray_2_large": "larger job: batch, Ray (the same instance, third job), 2 actors",
    }

    def mib(value: int | None) -> str:
        return "-" if not value else f"{value / 2**20:.0f} MiB"

    def rate(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    lines = [
        "# segpress batch: throughput and memory",
        "",
        (f"{settings['images']} CamVid val frames (480x360 PNG; the larger job: them {settings['copies']} times), "
         "shipped model, default policy, JPEG, no comparison; "
         f"{machine_line(document)}. Generated by `{document['command']}`."),
        "",
        "| run | images | seconds | images/s | steady images/s | first record (s) | peak memory per worker |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    plain = report["compress"]
    lines.append(f"| `segpress compress` one process, one image at a time | {plain['one_process']['images']} | "
                 f"{plain['one_process']['seconds']:.1f} | {rate(plain['one_process']['images_per_second'])} | | | |")
    lines.append(f"| `segpress compress`, a process per image | {plain['process_per_image']['images']} | "
                 f"{plain['process_per_image']['seconds']:.1f} | {rate(plain['process_per_image']['images_per_second'])} | | | |")
    for key, label in labels.items():
        if key not in runs:
            continue
        run = runs[key]
        memory = run["worker_peak_rss"]
        peak = max(job_workers(memory) if isinstance(memory, dict) else memory, default=None)
        lines.append(f"| {label} | {run['images']} | {run['seconds']:.1f} | {rate(run['images_per_second'])} | "
                     f"{rate(run['steady_images_per_second'])} | {run['first_record_seconds']:.1f} | {mib(peak)} |")
    speedup = local2["images_per_second"] / local1["images_per_second"]
    lines += ["", "| target | measured | goal | |", "|---|---:|---:|---|"]
    lines.append(f"| local, 2 workers / 1 worker (images/s) | {speedup:.2f}x | >= {TARGETS['two_workers_speedup']}x | "
                 f"{'met' if speedup >= TARGETS['two_workers_speedup'] else 'NOT met'} |")
    if on_ray is not None:
        goal = TARGETS["ray_vs_local"]
        comparisons = [
            ("larger job, whole run", runs.get("ray_2_large"), runs.get("local_2_large"), "images_per_second"),
            ("101 frames, whole run, the instance's first job", on_ray, local2, "images_per_second"),
            ("101 frames, whole run, second job", runs.get("ray_2_again"), local2, "images_per_second"),
            ("101 frames, steady rate (first job)", on_ray, local2, "steady_images_per_second"),
        ]
        for label, ray_run, local_run, key in comparisons:
            if ray_run is None or local_run is None:
                continue
            ratio = ray_run[key] / local_run[key]
            lines.append(f"| Ray / local, 2 workers: {label} | {ratio:.2f}x | >= {goal}x | "
                         f"{'met' if ratio >= goal else 'NOT met'} |")
        lines += ["", f"Ray's own start-up (`ray.init`, not in the figures above): {report['ray_init_seconds']:.1f} s.",
                  "", "Ray worker processes, peak resident memory:", ""]
        lines += [f"- {name}: {mib(value)}" for name, value in on_ray["worker_peak_rss"].items()]
        lines += ["", "The same in the second job (Ray Data's helper actors already running):", ""]
        lines += [f"- {name}: {mib(value)}" for name, value in runs.get("ray_2_again", {}).get("worker_peak_rss", {}).items()]
    lines += ["", ("images/s is over the whole run (worker start-up and model loading included); steady images/s "
                   "counts the records after the first over the time from the first record to the last.")]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camvid", type=Path, default=REPO.parent / "shared" / "data" / "camvid")
    parser.add_argument("--limit", type=int, default=None, help="only the first N val frames (a quick check)")
    parser.add_argument("--single", type=int, default=10, help="frames compressed with a process each")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray engine")
    parser.add_argument("--copies", type=int, default=5, help="the frames this many times for the larger job (0: none)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)
    run = Run("batch", argv, ("onnxruntime",) if args.no_ray else ("onnxruntime", "ray"))
    frames = sorted((args.camvid / "val").glob("*.png"))[: args.limit]
    if not frames:
        print(f"no CamVid val frames in {args.camvid / 'val'}: nothing to measure", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="segpress-batch-bench-"))
    try:
        source = work / "frames"
        source.mkdir()
        for frame in frames:
            shutil.copy2(frame, source / frame.name)
        settings = {"images": len(frames), "copies": args.copies, "single": min(args.single, len(frames)),
                    "ray": not args.no_ray, "targets": TARGETS}
        report: dict = {}
        inputs = sorted(source.glob("*.png"))
        report["compress"] = {
            "one_process": compress_one_process(inputs, work / "compress"),
            "process_per_image": compress_process_per_image(inputs[: args.single], work / "single"),
        }
        runs = {"local_1": batch_run(source, work / "local-1", "local", 1),
                "local_2": batch_run(source, work / "local-2", "local", 2)}
        large = work / "copies"
        for copy in range(args.copies):
            (large / f"copy-{copy}").mkdir(parents=True)
            for frame in inputs:
                os.link(frame, large / f"copy-{copy}" / frame.name)
        if args.copies:
            runs["local_2_large"] = batch_run(large, work / "local-2-large", "local", 2)
        if not args.no_ray:
            report["ray_init_seconds"] = start_ray(str(work / "ray"))
            runs["ray_2"] = batch_run(source, work / "ray-2", "ray", 2)
            runs["ray_2_again"] = batch_run(source, work / "ray-2-again", "ray", 2)
            if args.copies:
                runs["ray_2_large"] = batch_run(large, work / "ray-2-large", "ray", 2)
        report["runs"] = runs
    finally:
        if "ray" in sys.modules:
            sys.modules["ray"].shutdown()
        shutil.rmtree(work, ignore_errors=True)
    print(markdown(run.write(args.out, settings, report, markdown)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
