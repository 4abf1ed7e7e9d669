"""Training pictures for the text student: lines of text drawn on real photos, with the cores to learn.

Every picture is drawn fresh from a seed: a crop of a background photo, scaled, with up to MAX_LINES
lines of pseudo-words, codes and numbers in one of the fonts Debian's ``fonts-liberation``,
``fonts-freefont-ttf`` and ``fonts-noto-core`` install (none of the DejaVu and STIX fonts that
``benchmarks/text.py`` renders with, so that benchmark's fonts stay unseen), 7-56 px, light, dark,
coloured or a tone of the background, on a plate, with a shadow or an outline, rotated up to
±MAX_ROTATION degrees; then sometimes blurred, noised or JPEG-compressed, as photos arrive.

The target of each line is its *core*: the line's box (the ink's bounding box in the line's own frame,
grown by LINE_MARGIN of the font size) shrunk by SHRINK times its shorter side on every side, rotated
with the line. ``segpress.text`` grows detected cores back by ``UNCLIP_RATIO`` (about that amount).

Real photos hold real text that nobody labelled (shop signs in street scenes, labels on products):
``ignore_masks`` runs the teacher-sized detector (PP-OCRv4 at scale 2.0) on every background once, and
what it marks carries no loss, so that real text is never taught as background.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from segpress.imageio import load_image
from segpress.train.photos import list_photos

FONT_FOLDERS = ("/usr/share/fonts/truetype/liberation", "/usr/share/fonts/truetype/freefont",
                "/usr/share/fonts/truetype/noto")
FONTS_HINT = "apt-get install -y fonts-liberation fonts-freefont-ttf fonts-noto-core"
CROP = 320  # training pictures are CROP x CROP
MAX_LINES = 9
SIZES = (7, 56)  # font size in px, drawn log-uniformly
MAX_ROTATION = 15.0
LINE_MARGIN = 0.2  # as the benchmark's annotators: the ink's box and this times the font size around it
SHRINK = 0.3  # a core is its line's box shrunk by this times the box's shorter side, on every side
MIN_CONTRAST = 45  # grey levels between ink and what is under it
IGNORE = 255  # label of pixels that carry no loss
_SYLLABLES = ("ka", "to", "ri", "men", "sa", "lo", "ver", "ne", "al", "ber", "co", "da", "pla", "tra", "in", "ost",
              "ur", "gen", "mi", "ha", "ste", "bu", "ro", "fa", "quo", "xi", "zy", "wel", "ch", "sh", "est", "ion")
_COLOURS = ((200, 20, 20), (20, 140, 50), (30, 60, 200), (240, 190, 0), (230, 100, 10), (130, 30, 150),
            (0, 150, 170), (100, 200, 40), (250, 90, 150), (90, 60, 30))


@dataclass
class Sample:
    pixels: np.ndarray  # (CROP, CROP, 3) uint8
    label: np.ndarray  # (CROP, CROP) uint8: 1 core, 0 not text, IGNORE no loss


def training_fonts() -> list[Path]:
    """The Latin fonts of the three Debian packages (Noto's other scripts left out)."""
    found = []
    for folder in FONT_FOLDERS:
        for path in sorted(Path(folder).glob("*.ttf")):
            if folder.endswith("noto") and path.name.split("-")[0] not in (
                    "NotoSans", "NotoSerif", "NotoSansMono", "NotoSansDisplay", "NotoSerifDisplay"):
                continue
            found.append(path)
    if not found:
        raise RuntimeError(f"no training fonts found in {', '.join(FONT_FOLDERS)}: {FONTS_HINT}")
    return found


@lru_cache(maxsize=512)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def words(rng: random.Random) -> str:
    """Pseudo-words, codes, numbers, times and prices: text-like strings in no dictionary."""
    def word() -> str:
        made = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4)))
        return rng.choice((made, made.capitalize(), made.upper()))

    kind = rng.random()
    if kind < 0.5:
        return " ".join(word() for _ in range(rng.randint(1, 4)))
    if kind < 0.65:
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        return "".join(rng.choices(letters, k=rng.randint(2, 4))) + rng.choice(" -") + "".join(rng.choices(letters, k=rng.randint(2, 5)))
    if kind < 0.8:
        return f"{word()} {rng.randint(0, 9999)}{rng.choice(('', '%', ' km', '.-', 'm', ' €', ' kg'))}"
    if kind < 0.9:
        return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}{rng.choice(('', ' - ', ' / '))}{word()}"
    return f"{word()}{rng.choice((', ', '. ', ': ', ' & ', ' / '))}{word()}{rng.choice(('', '!', '?', '.'))}"


class Backgrounds:
    """Background photos (loaded once, kept in memory) and each one's ignore mask."""

    def __init__(self, paths: list[Path], masks: dict[str, np.ndarray]) -> None:
        self.paths = paths
        self.masks = masks
        self._pixels: dict[int, np.ndarray] = {}

    def picture(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if index not in self._pixels:
            self._pixels[index] = load_image(self.paths[index]).pixels
        pixels = self._pixels[index]
        mask = self.masks.get(str(self.paths[index]))
        return pixels, (np.zeros(pixels.shape[:2], bool) if mask is None else mask)


def background_paths(folders: list[Path]) -> list[Path]:
    """The photos under ``folders`` (as the teach pass lists them), in one sorted list: a seed's background."""
    return sorted(path for _, path in list_photos(folders))


def ignore_masks(paths: list[Path], scale: float = 2.0) -> dict[str, np.ndarray]:
    """Text the teacher-sized detector finds in each background (bool, the picture's size)."""
    from segpress.text import TextDetector, ppocr_network

    detector = TextDetector(ppocr_network("float32"), scale=scale)
    return {str(path): detector.detect(load_image(path).pixels).regions for path in paths}


def render(seed: int, backgrounds: Backgrounds, fonts: list[Path]) -> Sample:
    """Training picture ``seed``: a background crop with lines of text and the lines' cores."""
    rng = random.Random(seed)
    pixels, ignore = backgrounds.picture(rng.randrange(len(backgrounds.paths)))
    image, ignore_image = _crop(pixels, ignore, rng)
    label = Image.new("L", (CROP, CROP), 0)
    taken: list[tuple[int, int, int, int]] = []
    for _ in range(rng.choice((0, 1, 2, 3, 4, 5, 6, 7, 8, MAX_LINES)) if rng.random() > 0.1 else 0):
        _draw_line(image, label, taken, rng, fonts)
    image = _degrade(image, rng)
    labels = np.asarray(label).copy()
    labels[(labels == 0) & np.asarray(ignore_image)] = IGNORE
    return Sample(np.asarray(image.convert("RGB")), labels)


def _crop(pixels: np.ndarray, ignore: np.ndarray, rng: random.Random) -> tuple[Image.Image, Image.Image]:
    """A CROP x CROP crop of the picture at a random scale (at least enough to cover the crop)."""
    image, mask = Image.fromarray(pixels), Image.fromarray(ignore.astype(np.uint8) * 255)
    least = CROP / min(image.size)
    factor = max(least, rng.uniform(0.6, 2.0))
    size = (max(CROP, round(image.width * factor)), max(CROP, round(image.height * factor)))
    image = image.resize(size, Image.Resampling.BICUBIC if factor > 1 else Image.Resampling.LANCZOS)
    mask = mask.resize(size, Image.Resampling.BILINEAR).filter(ImageFilter.MaxFilter(5))
    left, top = rng.randrange(size[0] - CROP + 1), rng.randrange(size[1] - CROP + 1)
    box = (left, top, left + CROP, top + CROP)
    return image.crop(box).convert("RGB"), mask.crop(box).point(lambda value: 255 if value > 0 else 0).convert("1")


def _ink(rng: random.Random, under: np.ndarray) -> tuple[int, int, int]:
    """The ink's colour over ``under``: light, dark, saturated or a tone of it, at least MIN_CONTRAST away."""
    mean = under.reshape(-1, 3).mean(axis=0)
    grey = float(mean @ (0.299, 0.587, 0.114))
    roll = rng.random()
    if roll < 0.3:
        colour = tuple(rng.randint(225, 255) for _ in range(3))
    elif roll < 0.55:
        colour = tuple(rng.randint(0, 35) for _ in range(3))
    elif roll < 0.85:
        colour = rng.choice(_COLOURS)
    else:
        shift = rng.choice((-1, 1)) * rng.randint(MIN_CONTRAST, MIN_CONTRAST + 60)
        colour = tuple(int(np.clip(value + shift, 0, 255)) for value in mean)
    if abs(float(np.dot(colour, (0.299, 0.587, 0.114))) - grey) < MIN_CONTRAST:
        colour = (10, 10, 10) if grey > 127 else (245, 245, 245)
    return colour


def _draw_line(image: Image.Image, label: Image.Image, taken: list[tuple[int, int, int, int]], rng: random.Random,
               fonts: list[Path]) -> None:
    size = round(np.exp(rng.uniform(np.log(SIZES[0]), np.log(SIZES[1]))))
    face = _font(str(rng.choice(fonts)), size)
    text = words(rng)
    angle = 0.0 if rng.random() < 0.45 else rng.uniform(-MAX_ROTATION, MAX_ROTATION)
    layers = _line_layers(text, face, size, angle)
    if layers is None:
        return
    ink, core = layers
    place = _free_place(ink.size, taken, rng)
    if place is None:
        return
    taken.append(place)
    under = np.asarray(image.crop(place))
    draw = ImageDraw.Draw(image)
    style = rng.random()
    if style < 0.2:  # a plate behind the line: ink chosen against the plate
        plate = tuple(rng.randint(0, 255) for _ in range(3))
        grow = max(2, size // 4)
        plate_box = [place[0] + ink.getbbox()[0] - grow, place[1] + ink.getbbox()[1] - grow,
                     place[0] + ink.getbbox()[2] + grow, place[1] + ink.getbbox()[3] + grow]
        draw.rectangle(plate_box, fill=plate)
        under = np.full((1, 1, 3), plate, np.uint8)
    colour = _ink(rng, under)
    paint = Image.new("RGB", ink.size, colour)
    if 0.2 <= style < 0.32:  # a drop shadow or an outline in the opposite tone
        dark = float(np.dot(colour, (0.299, 0.587, 0.114))) > 127
        edge = Image.new("RGB", ink.size, (0, 0, 0) if dark else (255, 255, 255))
        if rng.random() < 0.5:
            offset = max(1, size // 12)
            image.paste(edge, (place[0] + offset, place[1] + offset), ink)
        else:
            image.paste(edge, place[:2], ink.filter(ImageFilter.MaxFilter(3)))
    image.paste(paint, place[:2], ink)
    label.paste(1, place[:2], core.point(lambda value: 255 if value > 127 else 0))


def _line_layers(text: str, face: ImageFont.FreeTypeFont, size: int, angle: float) -> tuple[Image.Image, Image.Image] | None:
    """(ink, core) masks of one line, rotated by ``angle`` degrees; None when it is empty or too large."""
    left, top, right, bottom = face.getbbox(text)
    if right - left < 2 or bottom - top < 2:
        return None
    pad = max(4, size // 2)
    layer_size = (right - left + 2 * pad, bottom - top + 2 * pad)
    if layer_size[0] > CROP * 1.3:
        return None
    ink = Image.new("L", layer_size, 0)
    ImageDraw.Draw(ink).text((pad - left, pad - top), text, font=face, fill=255)
    box = ink.getbbox()
    if box is None:
        return None
    core = Image.new("L", layer_size, 0)
    margin = max(1.5, LINE_MARGIN * size)
    full = (box[0] - margin, box[1] - margin, box[2] + margin, box[3] + margin)
    shrink = SHRINK * min(full[2] - full[0], full[3] - full[1])
    ImageDraw.Draw(core).rectangle((full[0] + shrink, full[1] + shrink, full[2] - shrink - 1, full[3] - shrink - 1), fill=255)
    if angle:
        ink, core = (picture.rotate(angle, Image.Resampling.BILINEAR, expand=True) for picture in (ink, core))
    if ink.width >= CROP - 2 or ink.height >= CROP - 2:
        return None
    return ink, core


def _free_place(size: tuple[int, int], taken: list[tuple[int, int, int, int]], rng: random.Random) -> tuple[int, int, int, int] | None:
    """Where a layer of ``size`` goes (up to a quarter of it outside the crop), 4 px clear of ``taken``."""
    width, height = size
    for _attempt in range(20):
        x, y = rng.randrange(-width // 4, CROP - 3 * width // 4), rng.randrange(-height // 4, CROP - 3 * height // 4)
        place = (x, y, x + width, y + height)
        if all(place[2] + 4 <= o[0] or o[2] + 4 <= place[0] or place[3] + 4 <= o[1] or o[3] + 4 <= place[1] for o in taken):
            return place
    return None


def _degrade(image: Image.Image, rng: random.Random) -> Image.Image:
    """Blur, noise and JPEG compression now and then, as pictures arrive."""
    if rng.random() < 0.25:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.1)))
    if rng.random() < 0.2:
        noisy = np.asarray(image, np.float32) + np.random.default_rng(rng.randrange(2**32)).normal(0, rng.uniform(2, 8), (CROP, CROP, 3))
        image = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    if rng.random() < 0.5:
        import io

        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=rng.randint(35, 95))
        image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    return image
