"""What ``--keep-map`` adds to a file: bytes with the embedded importance map minus bytes without.

The demo photo (scikit-image's astronaut, 512x512) and the first 24 held-out bench photos (as
``effort.py`` picks them), segmented once by the shipped model, encoded at the defaults by each format
that can carry the map. Writes benchmarks/results/keep_map.json and keep_map.md.

Usage: .venv/bin/python benchmarks/keep_map.py [--photos DIR] [--limit N] [--out DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

from common import DEFAULT_OUT, DEFAULT_PHOTOS, heldout_photos
from skimage import data

from segpress import api
from segpress.bench.record import Run, machine_line
from segpress.imageio import load_image

FORMATS = ("jpeg", "jxl", "webp", "avif")  # j2k and jxl-pixels have no place for the map


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("--limit", type=int, default=24)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    run = Run("keep_map", argv)
    images = [("astronaut", data.astronaut())]
    images += [(f"{p.parent.name}/{p.name}", load_image(p).pixels) for p in heldout_photos(args.photos, args.limit)]
    extra: dict[str, dict[str, int]] = {name: {} for name in FORMATS}
    for name, pixels in images:
        segmentation = api.segment(pixels)
        for codec in FORMATS:
            without = api.compress(pixels, segmentation=segmentation, format=codec, compare=False).size
            with_map = api.compress(pixels, segmentation=segmentation, format=codec, compare=False, keep_map=True).size
            extra[codec][name] = with_map - without
    settings = {"photos": str(args.photos), "limit": args.limit, "formats": FORMATS, "settings": "the defaults (roi 85, background 25, default policy)"}
    print(markdown(run.write(args.out, settings, {"bytes_added": extra}, markdown)))


def markdown(report: dict[str, Any]) -> str:
    extra = report["results"]["bytes_added"]
    images = len(next(iter(extra.values())))
    lines = ["# --keep-map: bytes the embedded importance map adds", "",
             f"{images} photos (the demo's astronaut and {images - 1} held-out bench photos), defaults.", "",
             "| format | smallest | median | largest |", "|---|---:|---:|---:|"]
    for codec, sizes in extra.items():
        values = sorted(sizes.values())
        lines.append(f"| {codec} | {values[0]:,} B | {statistics.median(values):,.0f} B | {values[-1]:,} B |")
    lines += ["", f"{machine_line(report)}."]
    return "\n".join(lines) + "\n"

if __name__ == "__main__":
    main(sys.argv[1:])
