"""EXIF orientation: pixels made upright, and the EXIF block carried over saying so."""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageOps

ORIENTATION = 0x0112
ROTATIONS = range(2, 9)  # EXIF orientations that need a flip or rotation; 1 is upright
_EXIF_HEADER = b"Exif\x00\x00"


@dataclass
class Decoded:
    """A decoded Pillow image, upright, with the EXIF block to carry over and the notes so far."""

    image: Image.Image
    name: str
    exif: bytes | None
    notes: list[str]


def upright(img: Image.Image, name: str, notes: list[str], *, in_place: bool) -> Decoded:
    """Apply EXIF orientation (a copy unless ``in_place``) and return the EXIF block to carry over."""
    try:
        orientation = img.getexif().get(ORIENTATION, 1)
    except Exception:  # noqa: BLE001 - Pillow raises SyntaxError & co. on a malformed EXIF block
        notes.append("unreadable EXIF block dropped; orientation not applied")
        return Decoded(img, name, None, notes)
    exif = _exif_upright(img.info.get("exif"), orientation)
    if orientation in ROTATIONS:
        notes.append(orientation_note(orientation))
        if in_place:
            ImageOps.exif_transpose(img, in_place=True)
        else:
            img = ImageOps.exif_transpose(img)
    return Decoded(img, name, exif, notes)


def orientation_note(orientation: int) -> str:
    return f"EXIF orientation {orientation} applied"


def _exif_upright(raw: bytes | None, orientation: int) -> bytes | None:
    """``raw`` starting with the APP1 "Exif" header and saying Orientation 1."""
    if not raw:
        return None
    if not raw.startswith(_EXIF_HEADER):
        raw = _EXIF_HEADER + raw  # WebP stores the TIFF structure bare
    if orientation == 1:
        return raw
    exif = Image.Exif()
    exif.load(raw)
    exif[ORIENTATION] = 1
    return exif.tobytes()
