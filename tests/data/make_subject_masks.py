"""One-off: draw the main-subject masks of photos from installed packages as polygons, saved as 1-bit PNGs.

The masks are committed (``tests/data/subject-*.png``); this script documents how they were made
and can redraw them. The photos, their origins and terms are in ``tests/subject_photos.py``.
Polygons are in image pixels (x, y), traced by eye over a 25- or 50-pixel grid:

- subject-chelsea.png: the cat (its head fills most of the frame) in ``skimage.data.chelsea()``.
- subject-astronaut.png: the astronaut (hair, face, suit, neck ring, glove) in ``astronaut()``,
  without the helmet she holds, the flag and the shuttle model.
- subject-motorcycle.png: the motorcycle, wheels included, in ``stereo_motorcycle()[0]``.
- subject-hopper.png (indoor portrait): Grace Hopper, cap to uniform, without the flag and the
  studio backdrop.
- subject-macaque.png (animal): the macaque's head, shoulders and arm, without the foliage.
- subject-rocket.png (vehicle): the Falcon 9 standing on its pad, without the towers and the pad.
- subject-ascent.png (people): the two people climbing the stairs (grey photo), without the stairs.
- subject-coffee.png (product shot): the cup, the saucer and the spoon, without the table.

``china`` (the landscape) has no mask: the whole picture is background there.

    .venv/bin/python tests/data/make_subject_masks.py [--overlays DIR]

``--overlays`` also writes each photo with its mask outlined, for checking by eye.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
from subject_photos import PHOTOS  # noqa: E402  (tests/subject_photos.py, beside this folder)

SUBJECTS: dict[str, list[list[tuple[int, int]]]] = {
    "chelsea": [
        [(25, 0), (395, 0), (385, 40), (378, 60), (372, 100), (362, 150), (352, 200), (342, 250),
         (332, 300), (0, 300), (0, 140), (15, 110), (22, 60)],
    ],
    "astronaut": [
        [(225, 14), (262, 20), (290, 40), (300, 70), (298, 100), (290, 125), (280, 135), (268, 150),
         (262, 168), (275, 178), (290, 195), (298, 215), (300, 235), (330, 255), (350, 280), (360, 330),
         (345, 345), (305, 370), (285, 420), (278, 512), (20, 512), (22, 440), (28, 380), (35, 320),
         (50, 260), (75, 225), (112, 210), (115, 185), (130, 160), (160, 150), (175, 135), (165, 120),
         (155, 100), (152, 70), (165, 40), (195, 20)],
    ],
    "motorcycle": [
        [(92, 198), (128, 192), (140, 182), (143, 152), (152, 148), (160, 160), (200, 162), (240, 170),
         (280, 182), (330, 190), (352, 165), (360, 152), (400, 140), (440, 130), (470, 105), (495, 100),
         (520, 120), (560, 118), (583, 130), (575, 145), (562, 165), (548, 190), (545, 200), (556, 255),
         (575, 262), (613, 267), (640, 295), (662, 318), (678, 345), (683, 380), (675, 415), (655, 442),
         (617, 452), (575, 442), (545, 418), (528, 395), (512, 370), (505, 335), (488, 332), (470, 350),
         (440, 366), (400, 372), (352, 378), (348, 392), (348, 430), (323, 432), (322, 392), (300, 372),
         (270, 365), (250, 388), (220, 400), (190, 404), (160, 397), (143, 387), (125, 360), (118, 330),
         (118, 300), (125, 272), (133, 257), (112, 245), (100, 240), (92, 215)],
    ],
    "hopper": [
        [(260, 25), (297, 33), (327, 50), (348, 75), (360, 100), (370, 115), (370, 150), (372, 200),
         (365, 240), (355, 275), (345, 300), (340, 325), (400, 352), (455, 380), (490, 400), (512, 425),
         (512, 600), (10, 600), (15, 480), (30, 420), (50, 385), (90, 365), (150, 340), (190, 325),
         (195, 315), (175, 290), (165, 270), (158, 240), (152, 190), (155, 160), (150, 130), (160, 100),
         (175, 75), (185, 60), (215, 35)],
    ],
    "macaque": [
        [(250, 95), (290, 100), (320, 110), (338, 132), (348, 160), (350, 200), (345, 240), (348, 270),
         (350, 300), (345, 340), (338, 380), (332, 420), (328, 470), (322, 520), (315, 600), (0, 600),
         (0, 285), (25, 255), (55, 228), (95, 200), (130, 175), (170, 150), (190, 120), (215, 103)],
    ],
    "rocket": [
        [(321, 126), (328, 130), (333, 140), (335, 160), (335, 405), (308, 405), (308, 160), (310, 140),
         (315, 130)],
    ],
    "ascent": [
        [(410, 250), (420, 243), (435, 245), (442, 262), (460, 265), (490, 268), (512, 280), (512, 512),
         (470, 512), (455, 470), (440, 430), (420, 380), (405, 350), (400, 310), (402, 280)],
        [(158, 292), (170, 286), (185, 292), (188, 305), (200, 330), (205, 360), (200, 395), (198, 430),
         (185, 432), (180, 400), (165, 385), (152, 370), (155, 340), (153, 310)],
    ],
    "coffee": [
        [(195, 35), (230, 20), (290, 14), (350, 18), (388, 30), (405, 50), (412, 66), (424, 70), (420, 100),
         (450, 130), (470, 170), (480, 220), (475, 260), (460, 300), (435, 335), (400, 362), (350, 382),
         (290, 390), (230, 385), (170, 370), (125, 340), (95, 305), (80, 265), (78, 225), (85, 185),
         (100, 150), (125, 120), (160, 95), (175, 85), (180, 60)],
    ],
}


def draw(name: str) -> tuple[np.ndarray, Image.Image]:
    polygons = SUBJECTS[name]
    photo = PHOTOS[name]()
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
