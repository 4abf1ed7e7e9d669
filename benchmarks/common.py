"""What the benchmark scripts share: where things are, the images and regions, timing and BD-rate helpers.

A module, not a script: ``benchmarks/NAME.py`` imports it (Python puts the script's folder first on
``sys.path``). The results' shape, the machine and the versions are recorded by
``segpress.bench.record`` (``Run``), which ``segpress bench`` uses too.

Images: CamVid val frames with the region of their sign, car, pedestrian and bicyclist labels dilated by
``CAMVID_DILATION`` px, and five scikit-image photos with regions drawn around their subject
(``PHOTOS``); the held-out tenth of ../shared/photos (``heldout_photos``).
"""

from __future__ import annotations

import importlib.util
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from rich.console import Console
from rich.progress import Progress
from scipy import ndimage
from skimage import data, draw, morphology

from segpress.bench.blocks import pct  # noqa: F401  (the scripts' percentage format, as in the reports)
from segpress.metrics import bd_rate
from segpress.train.photos import photo_split

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CAMVID = REPO.parent / "shared" / "data" / "camvid"
DEFAULT_OUT = REPO / "benchmarks" / "results"
DEFAULT_PHOTOS = REPO.parent / "shared" / "photos"
TIMING_REPEATS = 3  # timings are the best of this many: the machine is shared
# CamVid's 11-class labels: sign/symbol, car, pedestrian, bicyclist are what must stay legible.
CAMVID_CLASSES = {6: "sign/symbol", 8: "car", 9: "pedestrian", 10: "bicyclist"}
CAMVID_DILATION = 8  # px, disk: block edges and ringing next to an object still count as the object
IMPORTANCE_NOTE = (
    "the region mask as float32 (1 inside, 0 outside), no margin or feathering: the CamVid "
    f"region already includes the {CAMVID_DILATION} px dilation and the photo regions are drawn loosely"
)
console = Console(stderr=True)  # progress on stderr, so stdout carries only the summary


# --- images and regions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ellipse:
    """Centre (cx, cy) and half-axes (rx, ry) in pixels; x to the right, y down."""

    cx: float
    cy: float
    rx: float
    ry: float

    def fill(self, mask: np.ndarray) -> None:
        rows, cols = draw.ellipse(self.cy, self.cx, self.ry, self.rx, shape=mask.shape)
        mask[rows, cols] = True


@dataclass(frozen=True)
class Polygon:
    """Corners as (x, y) pixels, in order around the outline."""

    points: tuple[tuple[int, int], ...]

    def fill(self, mask: np.ndarray) -> None:
        xs, ys = zip(*self.points, strict=True)
        rows, cols = draw.polygon(ys, xs, shape=mask.shape)
        mask[rows, cols] = True


Shape = Ellipse | Polygon

# Drawn by eye on each photo and checked on an overlay; loose around the object, as a segmenter's
# mask plus margin would be.
# chelsea (451x300): the cat's head with both ears and eyes, and the body down the left and bottom;
# the blurred room on the right (right of the cheek) is background.
CAT = (
    Polygon(((0, 0), (405, 0), (400, 45), (372, 130), (365, 200), (345, 255), (325, 300), (0, 300))),
)
# coffee (600x400): saucer (wide ellipse) plus cup with its handle and the spoon (upper ellipse);
# the wooden table around them is background.
CUP_AND_SAUCER = (Ellipse(278, 232, 207, 160), Ellipse(292, 150, 138, 138))
# stereo_motorcycle left (741x500): the motorcycle from rear light to front wheel, mirrors to tyres;
# the garage (shelves, bench, floor) is background.
MOTORCYCLE = (
    Polygon((
        (88, 195), (150, 150), (330, 158), (340, 108), (420, 112), (495, 72), (548, 78), (590, 118),
        (585, 195), (600, 262), (650, 288), (692, 350), (685, 432), (640, 455), (578, 447), (530, 405),
        (365, 410), (348, 442), (318, 442), (252, 402), (168, 402), (122, 362), (115, 282), (92, 248),
    )),
)
# rocket (640x427): the rocket from its nose cone down, the launch tower around its lower stage and
# the platform it stands on; sky, lightning masts and lights are background.
ROCKET = (
    Polygon((
        (322, 122), (333, 128), (338, 145), (342, 160), (343, 318), (362, 322), (362, 403), (380, 403),
        (380, 427), (264, 427), (264, 403), (282, 403), (282, 322), (302, 318), (302, 160), (306, 145),
        (311, 128),
    )),
)


def drawn_region(shapes: tuple[Shape, ...]) -> Callable[[np.ndarray], np.ndarray]:
    def region(pixels: np.ndarray) -> np.ndarray:
        mask = np.zeros(pixels.shape[:2], dtype=bool)
        for shape in shapes:
            shape.fill(mask)
        return mask

    return region


def face_region(pixels: np.ndarray) -> np.ndarray:
    """The demo's rule (scripts/demo_inputs.py): LBP face cascade, each box grown by 60 % per side."""
    spec = importlib.util.spec_from_file_location("demo_inputs", REPO / "scripts" / "demo_inputs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.face_mask(pixels) > 0


@dataclass(frozen=True)
class Photo:
    name: str
    load: Callable[[], np.ndarray]
    region: Callable[[np.ndarray], np.ndarray]


PHOTOS = (
    Photo("astronaut", data.astronaut, face_region),
    Photo("chelsea", data.chelsea, drawn_region(CAT)),
    Photo("coffee", data.coffee, drawn_region(CUP_AND_SAUCER)),
    Photo("stereo_motorcycle_left", lambda: data.stereo_motorcycle()[0], drawn_region(MOTORCYCLE)),
    Photo("rocket", data.rocket, drawn_region(ROCKET)),
)


@dataclass
class Sample:
    name: str
    pixels: np.ndarray  # uint8 HxWx3
    region: np.ndarray  # bool HxW


def camvid_region(labels: np.ndarray) -> np.ndarray:
    important = np.isin(labels, list(CAMVID_CLASSES))
    return ndimage.binary_dilation(important, structure=morphology.disk(CAMVID_DILATION).astype(bool))


def camvid_samples(files: list[Path], labels_dir: Path) -> Iterator[Sample | None]:
    """One Sample per file, or None for a frame without any important pixel (skipped, counted)."""
    for path in files:
        pixels = np.asarray(Image.open(path).convert("RGB"))
        region = camvid_region(np.asarray(Image.open(labels_dir / path.name)))
        yield Sample(path.stem, pixels, region) if region.any() else None


def photo_samples() -> Iterator[Sample]:
    for photo in PHOTOS:
        pixels = photo.load()
        yield Sample(photo.name, pixels, photo.region(pixels))


def heldout_photos(folder: Path, limit: int) -> list[Path]:
    photos = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")
                    and photo_split(p) == "heldout")
    return photos[:limit]


# --- measuring ----------------------------------------------------------------------------------------


def collect(
    progress: Progress, label: str, samples: Iterator[Sample | None], total: int,
    measure_one: Callable[[int, Sample], dict[str, Any]],
) -> tuple[list[dict[str, Any]], int, float]:
    """Per-image records of ``measure_one(index, sample)``, the count of skipped images, and seconds."""
    task = progress.add_task(label, total=total)
    started = time.perf_counter()
    records, skipped = [], 0
    for index, sample in enumerate(samples):
        if sample is None:
            skipped += 1
        else:
            records.append(measure_one(index, sample))
        progress.advance(task)
    return records, skipped, time.perf_counter() - started


def safe_bd_rate(
    ref_rate: list[float], ref_psnr: list[float], test_rate: list[float], test_psnr: list[float]
) -> float | None:
    """BD-rate, or None where it is undefined (infinite PSNR, curves that do not overlap)."""
    if not all(math.isfinite(value) for value in ref_psnr + test_psnr):
        return None
    try:
        return bd_rate(ref_rate, ref_psnr, test_rate, test_psnr)
    except ValueError:
        return None


def best_times(calls: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Best wall time of each call; the calls alternate so that a slow moment hits all of them alike."""
    best = dict.fromkeys(calls, math.inf)
    for _ in range(TIMING_REPEATS):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def target(value: float | None, limit: float, at_most: bool, unit: str) -> dict[str, Any]:
    met = value is not None and (value <= limit if at_most else value >= limit)
    return {"value": value, "text": f"{'<=' if at_most else '>='} {limit:g} {unit}", "met": met}

