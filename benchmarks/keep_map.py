"""What ``--keep-map`` adds to a file: bytes with the embedded importance map minus bytes without.

The demo photo (scikit-image's astronaut, 512x512) and the first 24 held-out bench photos (as
``effort.py`` picks them), segmented once by the shipped model, encoded at the defaults by each format
that can carry the map. Writes benchmarks/results/keep_map.json and keep_map.md.

Usage: .venv/bin/python benchmarks/keep_map.py [--photos DIR] [--limit N] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics

from effort import DEFAULT_OUT, DEFAULT_PHOTOS, heldout_photos, write_atomic
from skimage import data

from segpress import api
from segpress.imageio import load_image

FORMATS = ("jpeg", "jxl", "webp", "avif")  # j2k and jxl-pixels have no place for the map


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=type(DEFAULT_PHOTOS), default=DEFAULT_PHOTOS)
    parser.add_argument("--limit", type=int, default=24)
    parser.add_argument("--out", type=type(DEFAULT_OUT), default=DEFAULT_OUT)
    args = parser.parse_args()
    images = [("astronaut", data.astronaut())]
    images += [(f"{p.parent.name}/{p.name}", load_image(p).pixels) for p in heldout_photos(args.photos, args.limit)]
    extra: dict[str, dict[str, int]] = {name: {} for name in FORMATS}
    for name, pixels in images:
        segmentation = api.segment(pixels)
        for codec in FORMATS:
            without = api.compress(pixels, segmentation=segmentation, format=codec, compare=False).size
            with_map = api.compress(pixels, segmentation=segmentation, format=codec, compare=False, keep_map=True).size
            extra[codec][name] = with_map - without
    lines = ["# --keep-map: bytes the embedded importance map adds", "",
             f"{len(images)} photos (the demo's astronaut and {len(images) - 1} held-out bench photos), defaults.", "",
             "| format | smallest | median | largest |", "|---|---:|---:|---:|"]
    for codec, sizes in extra.items():
        values = sorted(sizes.values())
        lines.append(f"| {codec} | {values[0]:,} B | {statistics.median(values):,.0f} B | {values[-1]:,} B |")
    args.out.mkdir(parents=True, exist_ok=True)
    write_atomic(args.out / "keep_map.json", json.dumps({"bytes_added": extra}, indent=1) + "\n")
    write_atomic(args.out / "keep_map.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
