"""Pictures of a segmentation: a palette label map and a colour overlay with a legend.

    labels (H, W) ─ palette PNG: index = taxonomy class, colour = PALETTE[class] (255: black)
    photo + labels ─ blend 50 % ─ [text boxes outlined] ─ legend strip below: one swatch, class name
                                                          and pixel share per class (and "text")
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from segpress.taxonomy import CLASSES

from .base import UNLABELLED

# One fixed colour per taxonomy class, chosen to stay apart when blended over a photo:
# what policies protect (people, vehicles, bicycles, animals, signs) in strong hues, backgrounds muted.
PALETTE: dict[str, tuple[int, int, int]] = {
    "sky": (120, 180, 255),
    "building": (170, 85, 60),
    "pole": (255, 220, 0),
    "road": (128, 64, 128),
    "pavement": (244, 160, 220),
    "vegetation": (60, 170, 50),
    "sign": (255, 130, 0),
    "fence": (150, 140, 80),
    "vehicle": (0, 60, 255),
    "person": (230, 0, 0),
    "bicycle": (0, 220, 220),
    "animal": (220, 0, 220),
    "water": (0, 0, 120),
    "terrain": (150, 120, 60),
    "object": (200, 200, 200),
    "interior": (110, 100, 90),
    "furniture": (140, 90, 160),
}
UNLABELLED_COLOUR = (0, 0, 0)
OVERLAY_OPACITY = 0.5
# Detected text (``segpress segment --text``) is outlined, not blended: white inside a black line, so
# the boxes stand out on dark and light photos alike and the class colours underneath stay visible.
TEXT_COLOUR = (255, 255, 255)
TEXT_EDGE = (0, 0, 0)


def colour_table() -> np.ndarray:
    """(256, 3) uint8: the colour of every label value; values that are no class are black."""
    table = np.zeros((256, 3), np.uint8)
    table[: len(CLASSES)] = list(PALETTE.values())
    table[UNLABELLED] = UNLABELLED_COLOUR
    return table


def labels_png(labels: np.ndarray) -> bytes:
    """A palette PNG whose pixel values are the taxonomy indices (``segpress compress --labels`` reads it)."""
    image = Image.fromarray(np.ascontiguousarray(labels, dtype=np.uint8), mode="P")
    image.putpalette(colour_table().ravel().tolist())
    return _png(image)


def overlay_png(
    pixels: np.ndarray,
    labels: np.ndarray,
    shares: dict[str, float],
    text_boxes: Sequence[tuple[int, int, int, int]] = (),
) -> bytes:
    """The photo with class colours blended over it, text boxes outlined, and a legend strip below it.

    ``shares`` (class -> fraction of pixels, e.g. ``Segmentation.shares()``, plus ``"text"`` for the
    text regions) lists the legend's entries in its order; ``text_boxes`` are (left, top, right,
    bottom) in pixels (``TextDetection.boxes``). The picture keeps the photo's width and height, the
    legend adds rows.
    """
    rgb = np.repeat(pixels[..., None], 3, axis=2) if pixels.ndim == 2 else pixels
    colours = colour_table()[labels]
    blended = rgb * np.float32(1 - OVERLAY_OPACITY) + colours * np.float32(OVERLAY_OPACITY)
    photo = Image.fromarray(np.rint(blended).astype(np.uint8), mode="RGB")
    _outline(photo, text_boxes)
    legend = _legend(photo.width, shares)
    canvas = Image.new("RGB", (photo.width, photo.height + legend.height), (255, 255, 255))
    canvas.paste(photo, (0, 0))
    canvas.paste(legend, (0, photo.height))
    return _png(canvas)


def _outline(photo: Image.Image, boxes: Sequence[tuple[int, int, int, int]]) -> None:
    """Each box drawn as a white frame inside a black one, about 1/250 of the longer side thick."""
    width = max(1, round(max(photo.size) / 250))
    draw = ImageDraw.Draw(photo)
    for left, top, right, bottom in boxes:
        draw.rectangle((left - width, top - width, right - 1 + width, bottom - 1 + width), outline=TEXT_EDGE, width=width)
        draw.rectangle((left, top, right - 1, bottom - 1), outline=TEXT_COLOUR, width=width)


def _legend(width: int, shares: dict[str, float]) -> Image.Image:
    """Entries flowed left to right, wrapping onto as many rows as the width needs."""
    size = int(np.clip(width / 40, 10, 28))
    font = ImageFont.load_default(size=size)
    pad, gap = max(3, size // 3), size
    entries = [(name, f"{name} {_percent(share)}") for name, share in shares.items()]
    widths = [size + pad + int(np.ceil(font.getlength(text))) for _, text in entries]
    rows: list[list[int]] = [[]]
    used = pad
    for index, entry_width in enumerate(widths):
        if rows[-1] and used + entry_width > width - pad:
            rows.append([])
            used = pad
        rows[-1].append(index)
        used += entry_width + gap
    line = size + 2 * pad
    legend = Image.new("RGB", (width, line * len(rows) + pad), (255, 255, 255))
    draw = ImageDraw.Draw(legend)
    colours = {**PALETTE, "unlabelled": UNLABELLED_COLOUR, "text": TEXT_COLOUR}
    for row, members in enumerate(rows):
        x, y = pad, pad + row * line
        for index in members:
            name, text = entries[index]
            draw.rectangle((x, y + pad // 2, x + size, y + pad // 2 + size), fill=colours[name], outline=(0, 0, 0))
            draw.text((x + size + pad, y + pad // 2 + size / 2), text, fill=(0, 0, 0), font=font, anchor="lm")
            x += widths[index] + gap
    return legend


def _percent(share: float) -> str:
    return "<0.1%" if 0 < share < 0.0005 else f"{100 * share:.1f}%"


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()
