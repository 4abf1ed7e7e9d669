"""Inputs of ``benchmarks/run_all`` for ``segpress bench``, written into one folder:

- ``camvid-classes.txt`` + ``camvid-mapping.toml`` and ``msrc-classes.txt`` + ``msrc-mapping.toml``: the
  CamVid and MSRC-v2 label values in the class-name-file + mapping format ``--labels/--classes/--mapping``
  read (from ``segpress.taxonomy``; CamVid's value 11 and MSRC's 255 are unlabelled);
- ``msrc-val.txt``: the MSRC-v2 images of the split held out from training (``segpress.datasets.msrc_split``),
  one path a line;
- ``photos/*.png``: the scikit-image photos the README quotes (astronaut, chelsea, coffee, the left
  stereo motorcycle, rocket), as PNG files.

Usage: .venv/bin/python benchmarks/bench_inputs.py OUT_DIR [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

from segpress.datasets import IMAGE_SUFFIXES, msrc_split
from segpress.taxonomy import CAMVID_CLASSES, CAMVID_TO_TAXONOMY, MSRC_CLASSES, MSRC_TO_TAXONOMY

REPO = Path(__file__).resolve().parent.parent
PHOTOS = {
    "astronaut": data.astronaut,
    "chelsea": data.chelsea,
    "coffee": data.coffee,
    "stereo_motorcycle_left": lambda: data.stereo_motorcycle()[0],
    "rocket": data.rocket,
}


def write_label_set(out: Path, name: str, classes: tuple[str, ...], mapping: dict[str, str], extra: int) -> None:
    """Class names by value (``extra`` unmapped "unlabelled" lines after them: values that mean no class)."""
    lines = [*classes, *(f"unlabelled-{i}" for i in range(extra))]
    (out / f"{name}-classes.txt").write_text("\n".join(lines) + "\n")
    # TOML keys quoted: CamVid's "sign/symbol" is not a bare key.
    table = "".join(f"{json.dumps(source)} = {json.dumps(target)}\n" for source, target in mapping.items())
    (out / f"{name}-mapping.toml").write_text(table)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    # CamVid: values 0..10, 11 unlabelled (a 12th, unmapped class); MSRC: 0..22, 255 is already unlabelled.
    write_label_set(args.out, "camvid", CAMVID_CLASSES, CAMVID_TO_TAXONOMY, extra=1)
    write_label_set(args.out, "msrc", MSRC_CLASSES, MSRC_TO_TAXONOMY, extra=0)
    msrc_images = args.data / "msrc_v2" / "images"
    if msrc_images.is_dir():
        held_out = sorted(p for p in msrc_images.iterdir()
                          if p.suffix.lower() in IMAGE_SUFFIXES and msrc_split(p.name) == "val")
        (args.out / "msrc-val.txt").write_text("".join(f"{p}\n" for p in held_out))
    photos = args.out / "photos"
    photos.mkdir(exist_ok=True)
    for name, load in PHOTOS.items():
        Image.fromarray(np.asarray(load())).save(photos / f"{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
