"""Pictures with text where people put it, for benchmarks/text.py: lines drawn on real photos.

Each scene is a 640x480 crop of a real photo (scikit-image's pictures; with ``--photos``, also the
façades, streets, landscapes and interiors of ../shared/photos' urban100 and sun_hays80 sets, read in
place) with LINES_PER_SCENE lines of text on it: one of FONTS (the DejaVu and STIX families that
matplotlib ships, so every clone renders the same pixels), SIZES px, white, black, a saturated colour
or a tone close to the background (at least MIN_CONTRAST grey levels away), now and then on a plate
or with a drop shadow, rotated up to ±MAX_ROTATION degrees. Where each line is (its ink's bounding
box) and what it says are known.

Large scenes (``grid``) stand for a phone photo with small text in it: a mosaic of such crops, 6 x 6 of
them make 3840 x 2880 (11 MP), with as many lines per crop.

Seeds decide everything: scene ``i`` of seed ``s`` draws from ``random.Random(f"{s}:{i}")`` (a mosaic
from ``f"{s}:{i}:{rows}x{columns}"``).
CHOOSING_SEEDS drew the scenes on which settings were chosen; HELDOUT_SEEDS draw the reported ones,
and their backgrounds come from the other half of the photos (``background_pool``), so no reported
scene shares a background with a scene used for choosing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from skimage import data

WIDTH, HEIGHT = 640, 480
LINES_PER_SCENE = 5
SIZES = (12, 13, 14, 16, 18, 20, 24, 28, 32)  # font size in px (the em square)
MAX_ROTATION = 10.0  # degrees
LINE_MARGIN = 0.2  # a line's box: its ink's bounding box and this times the font size around it, as annotators draw
MIN_CONTRAST = 60  # grey levels between the ink and the mean of what is under it
MATCH_IOU = 0.5  # a box finds a line when their intersection over union is at least this
SMALL = 14  # lines of at most this font size are "small" (the 12-14 px recall target)
CHOOSING_SEEDS = (1, 2, 3)
HELDOUT_SEEDS = (101, 102, 103)
# matplotlib's bundled fonts: sans, serif, mono, condensed-looking STIX (Times-like), bold and italic.
FONTS = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf", "DejaVuSansMono.ttf",
    "DejaVuSansMono-Bold.ttf", "STIXGeneral.ttf", "STIXGeneralBol.ttf", "STIXGeneralItalic.ttf",
)
# Text-free scikit-image photos (none of the int8 detector's calibration pictures; not ``horse``, a binary
# silhouette whose legs the detector and the package alike take for glyphs: 25 % and 32 % of it marked).
SKIMAGE_BACKGROUNDS = ("astronaut", "coffee", "chelsea", "rocket", "grass", "gravel", "cat",
                       "hubble_deep_field", "motorcycle")
PHOTO_SETS = ("urban100", "sun_hays80")  # façades, streets, halls, landscapes, interiors
COLOURS = ((220, 30, 30), (30, 160, 60), (40, 80, 220), (250, 200, 20), (240, 120, 20), (150, 40, 160),
           (20, 170, 190), (120, 220, 60))
WORDS = (
    "EXIT", "North", "Parking", "OPEN", "closed", "Platform", "STATION", "Taxi", "Bakery", "PHARMACY",
    "Main St", "gate", "Hotel", "NO ENTRY", "Tickets", "level", "South", "Delivery", "Museum", "Cafe",
    "Opening hours", "Sale", "Bus stop", "way out", "Library", "Fresh bread", "Police", "Garden", "Toilets",
    "Information", "Welcome", "Keep left", "Market", "Hospital", "Apartments", "river walk",
)


@dataclass
class Line:
    text: str
    size: int
    font: str
    angle: float
    style: str  # "white", "black", "colour" or "tone"; "+plate" / "+shadow" when drawn so
    box: tuple[int, int, int, int]  # the ink's bounding box + LINE_MARGIN: left, top, right, bottom (exclusive)


@dataclass
class Scene:
    name: str
    background: str
    pixels: np.ndarray
    lines: list[Line]

    @property
    def text_region(self) -> np.ndarray:
        region = np.zeros(self.pixels.shape[:2], bool)
        for line in self.lines:
            left, top, right, bottom = line.box
            region[top:bottom, left:right] = True
        return region


def font_path(name: str) -> Path:
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name


@lru_cache(maxsize=64)
def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(name)), size)


def skimage_picture(name: str) -> np.ndarray:
    pixels = data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(data, name)()
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=-1)
    return np.ascontiguousarray(pixels[..., :3])


def background_pool(photos: Path | None, heldout: bool) -> list[str]:
    """Background names ("skimage:coffee", or a photo's path), every other one by sorted order: the
    choosing scenes take the even places, the held-out scenes the odd ones."""
    names = [f"skimage:{name}" for name in SKIMAGE_BACKGROUNDS]
    if photos is not None:
        names += sorted(str(path) for folder in PHOTO_SETS for path in (photos / folder).glob("*.jpg"))
    names.sort()
    return names[int(heldout)::2]


def load_background(name: str) -> np.ndarray:
    if name.startswith("skimage:"):
        return skimage_picture(name.removeprefix("skimage:"))
    with Image.open(name) as image:
        return np.asarray(image.convert("RGB"))


def crop_to_frame(pixels: np.ndarray, rng: random.Random) -> Image.Image:
    """A WIDTH x HEIGHT crop of the picture, scaled up first (bicubic) where it is smaller."""
    image = Image.fromarray(pixels)
    factor = max(WIDTH / image.width, HEIGHT / image.height)
    if factor > 1:
        image = image.resize((round(image.width * factor + 0.5), round(image.height * factor + 0.5)),
                             Image.Resampling.BICUBIC)
    left = rng.randrange(image.width - WIDTH + 1)
    top = rng.randrange(image.height - HEIGHT + 1)
    return image.crop((left, top, left + WIDTH, top + HEIGHT)).convert("RGB")


def line_text(rng: random.Random) -> str:
    """A sign, a plate or an opening time: words, digits and punctuation, in various cases."""
    kind = rng.randrange(4)
    if kind == 0:
        return f"{rng.choice(WORDS)} {rng.randint(1, 99)}"
    if kind == 1:
        letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
        return f"{''.join(rng.choices(letters, k=2))} {rng.randint(1000, 9999)} {''.join(rng.choices(letters, k=2))}"
    if kind == 2:
        return f"{rng.choice(WORDS)} {rng.randint(6, 11)}-{rng.randint(17, 22)}h"
    first, second = rng.sample(WORDS, 2)
    return f"{first} {second.lower()}"


def luminance(colour: tuple[int, ...] | np.ndarray) -> float:
    red, green, blue = (float(c) for c in colour[:3])
    return 0.299 * red + 0.587 * green + 0.114 * blue


def ink_colour(rng: random.Random, under: np.ndarray) -> tuple[tuple[int, int, int], str]:
    """(colour, style) of a line's ink over pixels ``under``: at least MIN_CONTRAST grey levels from their mean."""
    mean = under.reshape(-1, 3).mean(axis=0)
    base = luminance(mean)
    roll = rng.random()
    if roll < 0.3:
        colour, style = (250, 250, 250), "white"
    elif roll < 0.55:
        colour, style = (15, 15, 15), "black"
    elif roll < 0.85:
        colour, style = rng.choice(COLOURS), "colour"
    else:  # a tone of the background's own colour, lighter or darker
        shift = rng.choice((-1, 1)) * rng.randint(MIN_CONTRAST + 5, MIN_CONTRAST + 40)
        colour, style = tuple(int(np.clip(c + shift, 0, 255)) for c in mean), "tone"
    if abs(luminance(colour) - base) < MIN_CONTRAST:  # too faint to be meant to be read: flip light/dark
        colour, style = ((15, 15, 15), "black") if base > 127 else ((250, 250, 250), "white")
    return colour, style


def render_line(text: str, face: ImageFont.FreeTypeFont, angle: float, colour: tuple[int, int, int],
                plate: tuple[int, int, int] | None, shadow: bool) -> tuple[Image.Image, Image.Image]:
    """(RGBA layer, ink mask) of one line, rotated by ``angle`` degrees (expanded to hold it)."""
    left, top, right, bottom = face.getbbox(text)
    pad = max(4, face.size // 2)
    size = (right - left + 2 * pad, bottom - top + 2 * pad)
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    mask = Image.new("L", size, 0)
    draw = ImageDraw.Draw(layer)
    origin = (pad - left, pad - top)
    if plate is not None:
        draw.rectangle((pad // 2, pad // 2, size[0] - pad // 2 - 1, size[1] - pad // 2 - 1), fill=(*plate, 255))
    if shadow:
        offset = max(1, face.size // 12)
        draw.text((origin[0] + offset, origin[1] + offset), text, font=face, fill=(0, 0, 0, 200))
    draw.text(origin, text, font=face, fill=(*colour, 255))
    ImageDraw.Draw(mask).text(origin, text, font=face, fill=255)
    if angle:
        layer = layer.rotate(angle, Image.Resampling.BICUBIC, expand=True)
        mask = mask.rotate(angle, Image.Resampling.BICUBIC, expand=True)
    return layer, mask


def render_scene(seed: int, index: int, pool: list[str], grid: tuple[int, int] = (1, 1)) -> Scene:
    """Scene ``index`` of ``seed``: one WIDTH x HEIGHT crop, or (``grid`` rows x columns) a mosaic of such
    crops with LINES_PER_SCENE lines per crop, as a large photo holds small text."""
    rng = random.Random(f"{seed}:{index}" if grid == (1, 1) else f"{seed}:{index}:{grid[0]}x{grid[1]}")
    crops = []
    for _ in range(grid[0] * grid[1]):
        background = rng.choice(pool)
        crops.append(np.asarray(crop_to_frame(load_background(background), rng)))
    image = Image.fromarray(np.concatenate([np.concatenate(crops[row * grid[1]:(row + 1) * grid[1]], axis=1)
                                            for row in range(grid[0])], axis=0))
    width, height = image.size
    taken: list[tuple[int, int, int, int]] = []
    lines = []
    for _ in range(LINES_PER_SCENE * grid[0] * grid[1]):
        size = rng.choice(SIZES)
        name = rng.choice(FONTS)
        text = line_text(rng)
        angle = 0.0 if rng.random() < 0.4 else round(rng.uniform(-MAX_ROTATION, MAX_ROTATION), 1)
        plate_roll, shadow = rng.random() < 0.2, rng.random() < 0.15
        for _attempt in range(100):
            layer_size = _layer_size(text, font(name, size), angle)
            if layer_size[0] >= WIDTH - 8:
                text = text.split(" ")[0]
                continue
            x = rng.randrange(4, width - layer_size[0] - 4)
            y = rng.randrange(4, height - layer_size[1] - 4)
            box = (x, y, x + layer_size[0], y + layer_size[1])
            if not any(_overlap(box, other, 8) for other in taken):
                break
        else:
            continue  # no room left: the scene gets fewer lines
        under = np.asarray(image)[box[1]:box[3], box[0]:box[2]]
        if plate_roll:
            plate = tuple(int(v) for v in rng.choice(((236, 236, 228), (24, 40, 90), (250, 205, 40), (30, 110, 60))))
            colour, style = ink_colour(rng, np.full((1, 1, 3), plate, np.uint8))
            style += "+plate"
        else:
            plate = None
            colour, style = ink_colour(rng, under)
        shadow = shadow and plate is None and luminance(colour) > 127
        style += "+shadow" if shadow else ""
        layer, mask = render_line(text, font(name, size), angle, colour, plate, shadow)
        image.paste(layer, (x, y), layer)
        ink = mask.point(lambda value: 255 if value > 96 else 0).getbbox()
        if ink is None:
            continue
        taken.append(box)
        margin = max(2, round(LINE_MARGIN * size))
        lines.append(Line(text, size, name, angle, style,
                          (max(0, x + ink[0] - margin), max(0, y + ink[1] - margin),
                           min(width, x + ink[2] + margin), min(height, y + ink[3] + margin))))
    short = background.removeprefix("skimage:").rsplit("/", 1)[-1] if grid == (1, 1) else f"mosaic {grid[0]}x{grid[1]}"
    name = f"s{seed}-{index}" if grid == (1, 1) else f"s{seed}-large{index}"
    return Scene(name, short, np.asarray(image.convert("RGB")), lines)


def _layer_size(text: str, face: ImageFont.FreeTypeFont, angle: float) -> tuple[int, int]:
    left, top, right, bottom = face.getbbox(text)
    pad = max(4, face.size // 2)
    width, height = right - left + 2 * pad, bottom - top + 2 * pad
    radians = np.deg2rad(abs(angle))
    return (int(np.ceil(width * np.cos(radians) + height * np.sin(radians))) + 1,
            int(np.ceil(width * np.sin(radians) + height * np.cos(radians))) + 1)


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int], gap: int) -> bool:
    return not (a[2] + gap <= b[0] or b[2] + gap <= a[0] or a[3] + gap <= b[1] or b[3] + gap <= a[1])


def scenes(seeds: tuple[int, ...], per_seed: int, photos: Path | None, heldout: bool,
           grid: tuple[int, int] = (1, 1)) -> list[Scene]:
    pool = background_pool(photos, heldout)
    return [render_scene(seed, index, pool, grid) for seed in seeds for index in range(per_seed)]


def text_free_pictures(photos: Path | None, count: int) -> list[tuple[str, np.ndarray]]:
    """Pictures without rendered text, for false boxes: the scikit-image backgrounds, and with ``photos``
    ``count`` of the bsds500 set (Corel stock photos: animals, people, landscapes; a few may hold real text)."""
    found = [(name, skimage_picture(name)) for name in SKIMAGE_BACKGROUNDS]
    if photos is not None:
        files = sorted((photos / "bsds500").glob("*.jpg"))
        for path in random.Random(0).sample(files, min(count, len(files))):
            with Image.open(path) as image:
                found.append((path.name, np.asarray(image.convert("RGB"))))
    return found


# --- judging found boxes against the lines ---------------------------------------------------------


def iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    width, height = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inside = width * height
    return inside / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inside)


def match(truth: list[tuple[int, int, int, int]], found: list[tuple[int, int, int, int]], limit: float = MATCH_IOU) -> dict[int, int]:
    """Line index -> box index, one to one, pairs of IoU >= ``limit`` taken best first."""
    pairs = sorted(((iou(t, f), i, j) for i, t in enumerate(truth) for j, f in enumerate(found)), reverse=True)
    lines: dict[int, int] = {}
    taken: set[int] = set()
    for value, i, j in pairs:
        if value < limit:
            break
        if i not in lines and j not in taken:
            lines[i] = j
            taken.add(j)
    return lines
