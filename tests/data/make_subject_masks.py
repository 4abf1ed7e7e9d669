"""One-off: draw the main-subject masks of three scikit-image photos as polygons, saved as 1-bit PNGs.

The masks are committed (``tests/data/subject-*.png``); this script documents how they were made
and can redraw them. Polygons are in image pixels (x, y), traced by eye over a 25-pixel grid:

- subject-chelsea.png: the cat (its head fills most of the frame) in ``skimage.data.chelsea()``.
- subject-astronaut.png: the astronaut (hair, face, suit, neck ring, glove) in ``astronaut()``,
  without the helmet she holds, the flag and the shuttle model.
- subject-motorcycle.png: the motorcycle, wheels included, in ``stereo_motorcycle()[0]``.

    .venv/bin/python tests/data/make_subject_masks.py [--overlays DIR]

``--overlays`` also writes each photo with its mask outlined, for checking by eye.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from skimage import data

HERE = Path(__file__).parent

SUBJECTS: dict[str, tuple[Callable[[], np.ndarray], list[list[tuple[int, int]]]]] = {
    "chelsea": (
        data.chelsea,
        [[(25, 0), (395, 0), (385, 40), (378, 60), (372, 100), (362, 150), (352, 200), (342, 250),
          (332, 300), (0, 300), (0, 140), (15, 110), (22, 60)]],
    ),
    "astronaut": (
        data.astronaut,
        [[(225, 14), (262, 20), (290, 40), (300, 70), (298, 100), (290, 125), (280, 135), (268, 150),
          (262, 168), (275, 178), (290, 195), (298, 215), (300, 235), (330, 255), (350, 280), (360, 330),
          (345, 345), (305, 370), (285, 420), (278, 512), (20, 512), (22, 440), (28, 380), (35, 320),
          (50, 260), (75, 225), (112, 210), (115, 185), (130, 160), (160, 150), (175, 135), (165, 120),
          (155, 100), (152, 70), (165, 40), (195, 20)]],
    ),
    "motorcycle": (
        lambda: data.stereo_motorcycle()[0],
        [[(92, 198), (128, 192), (140, 182), (143, 152), (152, 148), (160, 160), (200, 162), (240, 170),
          (280, 182), (330, 190), (352, 165), (360, 152), (400, 140), (440, 130), (470, 105), (495, 100),
          (520, 120), (560, 118), (583, 130), (575, 145), (562, 165), (548, 190), (545, 200), (556, 255),
          (575, 262), (613, 267), (640, 295), (662, 318), (678, 345), (683, 380), (675, 415), (655, 442),
          (617, 452), (575, 442), (545, 418), (528, 395), (512, 370), (505, 335), (488, 332), (470, 350),
          (440, 366), (400, 372), (352, 378), (348, 392), (348, 430), (323, 432), (322, 392), (300, 372),
          (270, 365), (250, 388), (220, 400), (190, 404), (160, 397), (143, 387), (125, 360), (118, 330),
          (118, 300), (125, 272), (133, 257), (112, 245), (100, 240), (92, 215)]]
    ),
}


def draw(name: str) -> tuple[np.ndarray, Image.Image]:
    load, polygons = SUBJECTS[name]
    photo = load()
    mask = Image.new("1", (photo.shape[1], photo.shape[0]), 0)
    painter = ImageDraw.Draw(mask)
    for polygon in polygons:
        painter.polygon(polygon, fill=1)
    return photo, mask


def overlay(photo: np.ndarray, mask: Image.Image) -> Image.Image:
    inside = np.asarray(mask, dtype=bool)
    shown = photo.astype(np.float32)
    shown[~inside] *= 0.35
    return Image.fromarray(shown.astype(np.uint8))


def main(argv: list[str]) -> None:
    overlays = Path(argv[argv.index("--overlays") + 1]) if "--overlays" in argv else None
    for name in SUBJECTS:
        photo, mask = draw(name)
        mask.save(HERE / f"subject-{name}.png", optimize=True)
        if overlays:
            overlays.mkdir(parents=True, exist_ok=True)
            overlay(photo, mask).save(overlays / f"{name}.png")


if __name__ == "__main__":
    main(sys.argv[1:])
