"""Benchmark for ``--effort``: what each level costs in encode time and gives in bytes, per format.

For every held-out bench photo (``segpress.train.photos.photo_split(path) == "heldout"`` under
../shared/photos) the shipped model segments the photo once; then, for each format with an effort knob
(webp, avif, jxl-pixels) and each effort level, ``segpress.api.compress`` encodes it at the defaults
(roi 85, background 25, default policy) and the script records bytes, PSNR inside the important region
and the encode time (best of REPEATS; the segmentation is not counted). Bytes and PSNR are compared with
effort 7, every encoder's default. Writes benchmarks/results/effort.json and effort.md.

Usage: .venv/bin/python benchmarks/effort.py [--photos DIR] [--limit N] [--out DIR]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path
from typing import Any

import numpy as np
from common import DEFAULT_OUT, DEFAULT_PHOTOS, heldout_photos

from segpress import api
from segpress.bench.record import Run, machine_line
from segpress.codecs import avif, webp
from segpress.imageio import load_image

FORMATS = ("webp", "avif", "jxl-pixels")
EFFORTS = (1, 3, 5, 7, 9)
REFERENCE = 7  # every encoder's default on the --effort scale
REPEATS = 2


def measure(path: Path) -> dict[str, Any]:
    pixels = load_image(path).pixels
    segmentation = api.segment(pixels)
    record: dict[str, Any] = {"photo": f"{path.parent.name}/{path.name}", "width": pixels.shape[1],
                              "height": pixels.shape[0], "formats": {}}
    for name in FORMATS:
        levels = {}
        for effort in EFFORTS:
            runs = [api.compress(pixels, segmentation=segmentation, format=name, effort=effort, compare=False)
                    for _ in range(REPEATS)]
            levels[str(effort)] = {"bytes": runs[0].size, "psnr_inside": _finite(runs[0].psnr_inside),
                                   "seconds": min(run.encode_seconds for run in runs)}
        record["formats"][name] = levels
    return record


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    megapixels = sum(r["width"] * r["height"] for r in records) / 1e6
    summary: dict[str, Any] = {}
    for name in FORMATS:
        reference_bytes = sum(r["formats"][name][str(REFERENCE)]["bytes"] for r in records)
        rows = {}
        for effort in EFFORTS:
            levels = [r["formats"][name][str(effort)] for r in records]
            psnr_change = [level["psnr_inside"] - r["formats"][name][str(REFERENCE)]["psnr_inside"]
                           for level, r in zip(levels, records, strict=True)
                           if level["psnr_inside"] is not None and r["formats"][name][str(REFERENCE)]["psnr_inside"] is not None]
            rows[str(effort)] = {
                "ms_per_mp": 1000 * sum(level["seconds"] for level in levels) / megapixels,
                "bytes_vs_default": sum(level["bytes"] for level in levels) / reference_bytes - 1,
                "psnr_inside_change_db": statistics.mean(psnr_change) if psnr_change else None,
            }
        summary[name] = rows
    return summary


def markdown(report: dict[str, Any]) -> str:
    summary, records = report["results"]["summary"], report["results"]["records"]
    megapixels = sum(r["width"] * r["height"] for r in records) / 1e6
    lines = [
        "# --effort: encode time and bytes per level",
        "",
        f"{len(records)} held-out bench photos ({megapixels:.2f} MP in all, about "
        f"{1000 * megapixels / len(records):.0f} kilopixels each), defaults (roi 85, background 25), importance "
        f"from the shipped model. Time: the encode alone, best of {REPEATS}, summed over the photos per megapixel; "
        f"{machine_line(report)}: times are noisy. Bytes and PSNR inside against effort {REFERENCE} (each "
        "encoder's default).",
        "",
        f"Command: `{report['command']}`",
        "",
        "| format | effort | encoder knob | ms/MP | bytes vs effort 7 | PSNR inside vs effort 7 |",
        "|---|---:|---|---:|---:|---:|",
    ]
    knobs = {"webp": ("method", webp.EFFORT_LEVELS), "avif": ("speed", avif.EFFORT_LEVELS),
             "jxl-pixels": ("effort", {e: e for e in EFFORTS})}
    for name, rows in summary.items():
        for effort, row in rows.items():
            knob, levels = knobs[name]
            change = row["psnr_inside_change_db"]
            lines.append(f"| {name} | {effort} | {knob} {levels[int(effort)]} | {row['ms_per_mp']:.0f} | "
                         f"{100 * row['bytes_vs_default']:+.1f} % | {'-' if change is None else f'{change:+.2f} dB'} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("--limit", type=int, default=24)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    run = Run("effort", argv, ("imagecodecs",))
    photos = heldout_photos(args.photos, args.limit)
    if not photos:
        raise SystemExit(f"no held-out photos under {args.photos}")
    records = []
    for index, path in enumerate(photos, 1):
        records.append(measure(path))
        print(f"{index}/{len(photos)} {path.name}", flush=True)
    settings = {"photos": str(args.photos), "limit": args.limit, "formats": FORMATS, "efforts": EFFORTS,
                "reference": REFERENCE, "repeats": REPEATS, "defaults": "roi 85, background 25, default policy"}
    results = {"photos": len(records), "summary": summarise(records), "records": records}
    print(markdown(run.write(args.out, settings, results, markdown)))

if __name__ == "__main__":
    np.seterr(all="ignore")
    main(sys.argv[1:])
