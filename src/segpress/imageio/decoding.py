"""Opening and decoding files and Pillow images: supported formats only, every pixel decoded up front."""

from __future__ import annotations

import functools
import io
import os
from typing import BinaryIO

from PIL import Image

from ..errors import InputError
from .limits import check_size, pillow_limit_lifted
from .messages import one_line, reason
from .orientation import ORIENTATION, ROTATIONS, Decoded, orientation_note, upright
from .pixels import GREY16_MODES

_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "AVIF", "GIF", "BMP", "PPM", "JPEG2000", "QOI")


def decode(source: str | os.PathLike[str] | bytes | Image.Image, max_pixels: int, name: str | None) -> Decoded:
    """Fully decoded, upright Pillow image, or InputError naming it ``name`` (default: as ``load_image`` says)."""
    if isinstance(source, Image.Image):
        name = name or getattr(source, "filename", "") or "<image>"
        with pillow_limit_lifted():
            check_size(*source.size, name, max_pixels)
            _load(source, name)
        return upright(source, name, [], in_place=False)
    if isinstance(source, (bytes, bytearray)):
        return _open_and_decode(io.BytesIO(source), name or "<bytes>", max_pixels)
    if isinstance(source, (str, os.PathLike)):
        path = os.fsdecode(source)
        with _open_file(path) as fh:  # a file that cannot be opened is named by its path
            return _open_and_decode(fh, name or path, max_pixels)
    raise TypeError(f"cannot load an image from a {type(source).__name__}")


def _open_file(name: str) -> BinaryIO:
    # Checked first: on Windows opening a folder reports "permission denied".
    if os.path.isdir(name):
        raise InputError(f"{name}: is a directory, not an image file")
    try:
        return open(name, "rb")
    except FileNotFoundError as e:
        raise InputError(f"{name}: no such file") from e
    except PermissionError as e:
        raise InputError(f"{name}: permission denied; cannot read it") from e
    except OSError as e:
        raise InputError(f"{name}: cannot read it ({reason(e)})") from e


def _open_and_decode(fh: BinaryIO, name: str, max_pixels: int) -> Decoded:
    if not fh.read(1):
        raise InputError(f"{name}: file is empty")
    fh.seek(0)
    with pillow_limit_lifted():
        try:
            img = Image.open(fh, formats=_formats())
        except Image.UnidentifiedImageError as e:
            raise InputError(f"{name}: not an image in a supported format ({', '.join(_formats())})") from e
        except Exception as e:  # Pillow plugins raise assorted types on malformed headers
            raise InputError(f"{name}: image header is corrupt ({one_line(e)})") from e
        check_size(*img.size, name, max_pixels)
        raw_mode = _raw_mode(img)
        notes = _load(img, name)
    if img.mode == "RGBA" and raw_mode.startswith("LA"):
        img = img.convert("LA")  # Pillow widens 16-bit grey+alpha PNGs to RGBA; keep them grey
    if ";16" in raw_mode and img.mode not in GREY16_MODES:
        notes.append("16-bit reduced to 8-bit")
    return upright(img, name, notes, in_place=True)


def _load(img: Image.Image, name: str) -> list[str]:
    """Decode every pixel now, so truncation and corruption surface here; notes about frames."""
    try:
        notes = ["only the first frame is used"] if getattr(img, "is_animated", False) else []
        # Pillow's TIFF decoder applies the orientation tag itself while loading, then deletes it.
        tiff_orientation = getattr(img, "tag_v2", {}).get(ORIENTATION, 1)
        img.load()
    except MemoryError as e:
        raise InputError(f"{name}: not enough memory to decode this {img.width}x{img.height} image") from e
    except Exception as e:  # decoders report damage as OSError, SyntaxError, ValueError, EOFError...
        raise InputError(f"{name}: image is truncated or corrupt ({one_line(e)})") from e
    if tiff_orientation in ROTATIONS:
        notes.append(orientation_note(tiff_orientation))
    return notes


def _raw_mode(img: Image.Image) -> str:
    """How the file stores pixels (e.g. "RGB;16B"), which Pillow may narrow to ``img.mode``."""
    if not img.tile:
        return ""
    args = img.tile[0][3]  # a tile is (codec, extents, offset, args)
    if isinstance(args, str):
        return args
    return args[0] if args and isinstance(args[0], str) else ""


@functools.cache
def _formats() -> tuple[str, ...]:
    Image.init()
    return tuple(fmt for fmt in _FORMATS if fmt in Image.OPEN)
