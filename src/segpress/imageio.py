"""Reading images, importance masks and label maps, and writing output files safely.

Every problem a user can fix raises :class:`InputError`, :class:`OptionError` or :class:`OutputError`
with a one-line message that starts with the file name; no Pillow or OS traceback escapes.

Reading images (``load_image``)
-------------------------------
Sources: a file path, the file's bytes, a numpy array or a Pillow image.

Formats: JPEG (including MPO camera files), PNG, TIFF, WebP, AVIF (when Pillow is built with it),
GIF, BMP, PNM (PPM/PGM/PBM), JPEG 2000 and QOI. Other formats Pillow knows (EPS, PDF, ...) are
refused, because some of them hand the file to external programs. Of an animated or multi-page file
only the first frame is used.

Refused, with a message saying why: a missing file, a directory, an unreadable file, an empty file,
anything that is not an image in one of those formats, a truncated or corrupt image (the whole image
is decoded up front and damaged data is never padded), an image with zero width or height, and an
image with more than ``max_pixels`` pixels (default 178,956,970, Pillow's own default; raise it with
--max-pixels). The pixel count is read from the file header, so an oversized image ("decompression
bomb") is refused before anything is decoded. The limit applies to arrays and Pillow images too.

Orientation: the EXIF Orientation tag is applied, so ``pixels`` is upright, and the EXIF block handed
back says Orientation 1 so that viewers do not rotate the output a second time. A malformed EXIF block
is dropped (with a note) and the image is used as stored.

Metadata: ``icc_profile`` is the input's ICC profile while it still describes the pixels (it is
dropped after CMYK, LAB or HSV conversion). ``exif`` is the raw EXIF block of JPEG, PNG and WebP
files, always starting with ``b"Exif\\0\\0"``; TIFF tags are not carried over.

Pixel modes and what they become (``pixels`` is always uint8, HxWx3 RGB or HxW grey):

- RGB stays RGB; L (8-bit grey) stays grey; 1 (bilevel) becomes grey 0/255.
- P (palette) becomes RGB.
- RGBA, LA, PA, and palette, grey or RGB images with a transparent colour: alpha rule, i.e. composited
  onto white, because JPEG has no alpha (grey stays grey). Noted when any pixel was not opaque.
- 16-bit grey (I;16 variants) becomes 8-bit grey as round(value / 257). 16-bit RGB(A) PNG and TIFF
  files arrive already reduced by Pillow, which keeps the high byte. Both are noted.
- I (32-bit integer) is read as 16-bit and must hold values in 0..65535; F (32-bit float) must hold
  values in [0, 1], scaled by 255 and rounded. Anything else is refused: save such images as 8- or
  16-bit first.
- CMYK becomes RGB through Pillow's plain conversion (no colour management), and its ICC profile is
  dropped. LAB, HSV and YCbCr become RGB. All noted.
- Any other mode is refused, naming the mode.

``notes`` lists the conversions that change what the picture looks like or carries (alpha, bit
depth, colour model, orientation, dropped EXIF, extra frames); lossless expansions (1-bit, palette)
are not noted.

Numpy arrays: uint8 HxW, HxWx3 or HxWx4 (alpha rule); uint16 (reduced as above); float in [0, 1]
(scaled by 255 and rounded). Other dtypes and shapes are refused.

Reading masks (``load_mask``)
-----------------------------
A mask says how important each pixel is: float32 HxW in [0, 1]. Same sources, formats and refusals as
images, and EXIF orientation is applied. Its size must equal the image's (after orientation).

- An image with an alpha channel that is not fully opaque (RGBA, LA, PA, transparent colour): the alpha
  channel, /255.
- 16-bit grey: value / 65535; I must be in 0..65535 (/65535); F must be in [0, 1] (used as is).
- Anything else, including fully opaque RGBA: its luminance (0.299 R + 0.587 G + 0.114 B) / 255, so
  a 1-bit mask gives 0 and 1 and an 8-bit grey mask gives value / 255.
- Numpy arrays must be 2-D: bool (0/1), uint8 (/255), uint16 (/65535) or float in [0, 1].

Reading label maps (``load_labels``)
------------------------------------
A label map holds one segpress taxonomy class index per pixel (``segpress.taxonomy.CLASSES``): an
8-bit grey or palette PNG (a palette image gives its indices, not its colours), 1-bit, 16-bit grey,
or a 2-D integer array. Each value must be a class index (0..classes-1) or 255 (unlabelled); RGB and
other colour images are refused, since colours are not indices. Same refusals, orientation and size
rule as masks.

Writing (``atomic_write``)
--------------------------
Data goes to a hidden temporary file next to the target, is flushed to disk, then renamed over the
target, so a crash never leaves a half-written output. An existing target is replaced only with
``overwrite``; a target that is one of the input files is never replaced. Missing parent folders are
created. A new file gets the usual permissions (0666 less the umask); a replaced file keeps its own.

Output names (``output_path``)
------------------------------
With several inputs, or when ``-o`` names an existing folder or ends with a path separator, the
output is that folder / input stem + the format's extension. Otherwise ``-o`` is the output file,
taken exactly as given (no extension is added when it has none).
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TypeAlias

import numpy as np
from PIL import Image, ImageOps

from .errors import InputError, OptionError, OutputError
from .taxonomy import UNLABELLED

DEFAULT_MAX_PIXELS = 178_956_970

_ORIENTATION = 0x0112
_ROTATIONS = range(2, 9)  # EXIF orientations that need a flip or rotation; 1 is upright
_EXIF_HEADER = b"Exif\x00\x00"
_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "AVIF", "GIF", "BMP", "PPM", "JPEG2000", "QOI")
_GREY16_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
_WIDE_GREY_MODES = _GREY16_MODES | {"I", "F"}
# Modes with an alpha channel, and the straight-alpha mode each converts to.
_ALPHA_MODES = {"RGBA": "RGBA", "RGBa": "RGBA", "PA": "RGBA", "LA": "LA", "La": "LA"}
# Colour models converted to RGB; the ICC profile of all but YCbCr (an encoding of RGB) no longer applies.
_OTHER_COLOUR_MODES = frozenset({"CMYK", "LAB", "HSV", "YCbCr"})
# Label value for "no class", as in segpress.taxonomy.remap_labels.
# Pixels per strip when copying a decoded picture out of Pillow (pillow_pixels).
_STRIP_PIXELS = 1 << 18
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass
class LoadedImage:
    """Upright uint8 pixels (HxWx3 RGB or HxW grey, C-contiguous) and the metadata that still applies."""

    pixels: np.ndarray
    icc_profile: bytes | None
    exif: bytes | None
    name: str
    notes: list[str] = field(default_factory=list)

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def is_grey(self) -> bool:
        return self.pixels.ndim == 2


# A LoadedImage is taken as it is (decoded once, used twice: batch segments, then compresses).
ImageSource: TypeAlias = str | os.PathLike[str] | bytes | np.ndarray | Image.Image | LoadedImage


@dataclass
class _Decoded:
    image: Image.Image
    name: str
    exif: bytes | None
    notes: list[str]


def load_image(
    source: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS, name: str | None = None
) -> LoadedImage:
    """Decode ``source`` into upright 8-bit RGB or grey pixels; see the module docstring for the rules.

    ``name`` is what error messages and ``LoadedImage.name`` call the image (default: its path, or
    ``<bytes>``, ``<array>``, ``<image>`` for data without one).
    """
    if isinstance(source, LoadedImage):
        _check_size(source.width, source.height, source.name, max_pixels)
        return source
    if isinstance(source, np.ndarray):
        notes: list[str] = []
        pixels = _pixels_from_array(source, name or "<array>", max_pixels, notes)
        return LoadedImage(pixels, None, None, name or "<array>", notes)
    decoded = _decode(source, max_pixels, name)
    pixels, icc_applies = _pixels_from_pil(decoded.image, decoded.name, decoded.notes)
    icc = decoded.image.info.get("icc_profile") or None
    notes = list(dict.fromkeys(decoded.notes))  # a file may earn the same note twice (16-bit)
    return LoadedImage(
        np.ascontiguousarray(pixels), icc if icc_applies else None, decoded.exif, decoded.name, notes
    )


def load_mask(
    source: ImageSource, *, size: tuple[int, int], max_pixels: int = DEFAULT_MAX_PIXELS, name: str | None = None
) -> np.ndarray:
    """An importance mask as float32 HxW in [0, 1]; ``size`` is the image's (height, width)."""
    if isinstance(source, np.ndarray):
        name = name or "<array>"
        if source.ndim != 2:
            raise InputError(f"{name}: a mask array must be 2-D (height x width), not shape {source.shape}")
        _check_size(source.shape[1], source.shape[0], name, max_pixels)
        mask = _unit_range(source, name)
    else:
        decoded = _decode(source, max_pixels, name)
        name = decoded.name
        mask = _mask_from_pil(decoded.image, name)
    _check_same_size(mask.shape, size, name)
    return np.ascontiguousarray(mask, dtype=np.float32)


def load_labels(
    source: ImageSource, *, size: tuple[int, int], classes: int, max_pixels: int = DEFAULT_MAX_PIXELS,
    name: str | None = None,
) -> np.ndarray:
    """A label map of class indices (uint8, or int32 from 16-bit files) HxW; ``size`` is (height, width)."""
    if isinstance(source, np.ndarray):
        name = name or "<array>"
        if source.ndim != 2 or source.dtype.kind not in "ui":
            raise InputError(
                f"{name}: a label array must be 2-D integers, not {source.dtype} of shape {source.shape}"
            )
        _check_size(source.shape[1], source.shape[0], name, max_pixels)
        labels = np.array(source, order="C")  # a copy: the caller's array must not alias ours
    else:
        decoded = _decode(source, max_pixels, name)
        name = decoded.name
        labels = _labels_from_pil(decoded.image, name)
    _check_same_size(labels.shape, size, name)
    _check_label_values(labels, classes, name)
    return np.ascontiguousarray(labels)


# --- decoding -------------------------------------------------------------------------------------


def _decode(source: str | os.PathLike[str] | bytes | Image.Image, max_pixels: int, name: str | None) -> _Decoded:
    """Fully decoded, upright Pillow image, or InputError naming it ``name`` (default: as ``load_image`` says)."""
    if isinstance(source, Image.Image):
        name = name or getattr(source, "filename", "") or "<image>"
        with _pillow_limit_lifted():
            _check_size(*source.size, name, max_pixels)
            _load(source, name)
        return _upright(source, name, [], in_place=False)
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
        raise InputError(f"{name}: cannot read it ({_reason(e)})") from e


def _open_and_decode(fh: BinaryIO, name: str, max_pixels: int) -> _Decoded:
    if not fh.read(1):
        raise InputError(f"{name}: file is empty")
    fh.seek(0)
    with _pillow_limit_lifted():
        try:
            img = Image.open(fh, formats=_formats())
        except Image.UnidentifiedImageError as e:
            raise InputError(f"{name}: not an image in a supported format ({', '.join(_formats())})") from e
        except Exception as e:  # Pillow plugins raise assorted types on malformed headers
            raise InputError(f"{name}: image header is corrupt ({_one_line(e)})") from e
        _check_size(*img.size, name, max_pixels)
        raw_mode = _raw_mode(img)
        notes = _load(img, name)
    if img.mode == "RGBA" and raw_mode.startswith("LA"):
        img = img.convert("LA")  # Pillow widens 16-bit grey+alpha PNGs to RGBA; keep them grey
    if ";16" in raw_mode and img.mode not in _GREY16_MODES:
        notes.append("16-bit reduced to 8-bit")
    return _upright(img, name, notes, in_place=True)


def _load(img: Image.Image, name: str) -> list[str]:
    """Decode every pixel now, so truncation and corruption surface here; notes about frames."""
    try:
        notes = ["only the first frame is used"] if getattr(img, "is_animated", False) else []
        # Pillow's TIFF decoder applies the orientation tag itself while loading, then deletes it.
        tiff_orientation = getattr(img, "tag_v2", {}).get(_ORIENTATION, 1)
        img.load()
    except MemoryError as e:
        raise InputError(f"{name}: not enough memory to decode this {img.width}x{img.height} image") from e
    except Exception as e:  # decoders report damage as OSError, SyntaxError, ValueError, EOFError...
        raise InputError(f"{name}: image is truncated or corrupt ({_one_line(e)})") from e
    if tiff_orientation in _ROTATIONS:
        notes.append(_orientation_note(tiff_orientation))
    return notes


def _upright(img: Image.Image, name: str, notes: list[str], *, in_place: bool) -> _Decoded:
    """Apply EXIF orientation (a copy unless ``in_place``) and return the EXIF block to carry over."""
    try:
        orientation = img.getexif().get(_ORIENTATION, 1)
    except Exception:  # noqa: BLE001 - Pillow raises SyntaxError & co. on a malformed EXIF block
        notes.append("unreadable EXIF block dropped; orientation not applied")
        return _Decoded(img, name, None, notes)
    exif = _exif_upright(img.info.get("exif"), orientation)
    if orientation in _ROTATIONS:
        notes.append(_orientation_note(orientation))
        if in_place:
            ImageOps.exif_transpose(img, in_place=True)
        else:
            img = ImageOps.exif_transpose(img)
    return _Decoded(img, name, exif, notes)


def _orientation_note(orientation: int) -> str:
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
    exif[_ORIENTATION] = 1
    return exif.tobytes()


def _check_size(width: int, height: int, name: str, max_pixels: int) -> None:
    if width == 0 or height == 0:
        raise InputError(f"{name}: image has no pixels ({width}x{height})")
    if width * height > max_pixels:
        raise InputError(
            f"{name}: image is {width}x{height} = {width * height:,} pixels, over the limit of "
            f"{max_pixels:,}; raise it with --max-pixels if you trust this file"
        )


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


_limit_lock = threading.Lock()
_limit_users = 0
_saved_limit: int | None = None


@contextlib.contextmanager
def _pillow_limit_lifted() -> Iterator[None]:
    """Switch off Pillow's global bomb check while any load runs: ``max_pixels`` replaces it.

    Pillow's check would refuse images a user allowed with --max-pixels, and it runs inside open and
    load, where no per-call limit can reach it. Counting the loads in progress lets threads overlap;
    the last one out restores Pillow's limit.
    """
    global _limit_users, _saved_limit
    with _limit_lock:
        if _limit_users == 0:
            _saved_limit = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None
        _limit_users += 1
    try:
        yield
    finally:
        with _limit_lock:
            _limit_users -= 1
            if _limit_users == 0:
                Image.MAX_IMAGE_PIXELS = _saved_limit


# --- pixel conversions ----------------------------------------------------------------------------


def pillow_pixels(img: Image.Image, mode: str | None = None) -> np.ndarray:
    """A Pillow image's pixels as a new uint8 array (HxW or HxWx3), converted to ``mode`` if given.

    A strip of rows at a time: ``np.array(img)`` goes through the whole picture's bytes, twice its size
    beside the result at its peak (and a conversion first makes a whole converted copy in Pillow).
    """
    mode = mode or img.mode
    if mode not in ("L", "RGB"):
        raise ValueError(f"pillow_pixels gives L or RGB pixels, not {mode}")
    width, height = img.size
    out = np.empty((height, width) if mode == "L" else (height, width, 3), np.uint8)
    step = max(1, _STRIP_PIXELS // max(1, width))
    for top in range(0, height, step):
        strip = img.crop((0, top, width, min(top + step, height)))
        out[top : top + step] = np.asarray(strip if strip.mode == mode else strip.convert(mode))
    return out


def _pixels_from_pil(img: Image.Image, name: str, notes: list[str]) -> tuple[np.ndarray, bool]:
    """uint8 RGB or grey pixels, and whether the image's ICC profile still describes them."""
    img = _with_alpha(img)
    mode = img.mode
    if mode in ("RGB", "L"):
        return pillow_pixels(img), True
    if mode in ("1", "P", "RGBX"):
        return pillow_pixels(img, "L" if mode == "1" else "RGB"), True
    if mode in _ALPHA_MODES:
        return _flatten_alpha(np.array(img.convert(_ALPHA_MODES[mode])), notes), True
    if mode in _WIDE_GREY_MODES:
        return _to_uint8(np.asarray(img), name, notes), True
    if mode in _OTHER_COLOUR_MODES:
        icc_applies = mode == "YCbCr"
        dropped = not icc_applies and img.info.get("icc_profile")
        notes.append(f"{mode} converted to RGB" + (f"; its {mode} ICC profile dropped" if dropped else ""))
        return np.array(img.convert("RGB")), icc_applies
    raise InputError(f"{name}: unsupported pixel mode {mode!r}; convert the image to RGB or greyscale first")


def _with_alpha(img: Image.Image) -> Image.Image:
    """Images with a transparent colour (PNG tRNS, GIF) as their alpha-channel equivalent."""
    if img.mode not in ("1", "L", "P", "RGB") or not img.has_transparency_data:
        return img
    return img.convert("LA" if img.mode in ("1", "L") else "RGBA")


def _pixels_from_array(array: np.ndarray, name: str, max_pixels: int, notes: list[str]) -> np.ndarray:
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise InputError(f"{name}: an image array must be HxW, HxWx3 or HxWx4, not shape {array.shape}")
    if array.dtype not in (np.uint8, np.uint16) and array.dtype.kind != "f":
        raise InputError(
            f"{name}: an image array must be uint8, uint16 or float in [0, 1], not {array.dtype}"
        )
    _check_size(array.shape[1], array.shape[0], name, max_pixels)
    pixels = _to_uint8(array, name, notes)
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = _flatten_alpha(pixels, notes)
    return np.array(pixels, order="C")  # a copy: the caller's array must not alias ours


def _to_uint8(samples: np.ndarray, name: str, notes: list[str]) -> np.ndarray:
    """8-bit samples from 8-bit, 16-bit (or 32-bit ints holding 16-bit values) and [0, 1] float ones."""
    if samples.dtype == np.uint8:
        return samples
    if samples.dtype.kind == "f":
        _check_unit_floats(samples, name)
        notes.append("floating-point samples rounded to 8-bit")
        return np.rint(samples * 255).astype(np.uint8)
    _check_16bit_range(samples, name)
    notes.append("16-bit reduced to 8-bit")
    # round(v / 257): exactly undoes the usual 8-to-16-bit widening v * 257
    return ((samples.astype(np.uint32) + 128) // 257).astype(np.uint8)


def _flatten_alpha(pixels: np.ndarray, notes: list[str]) -> np.ndarray:
    """Composite uint8 colour + straight alpha (last channel) onto white; grey stays 2-D."""
    colour, alpha = pixels[..., :-1], pixels[..., -1:]
    if alpha.min() < 255:
        notes.append("alpha flattened onto white")
        weight = alpha.astype(np.uint16)
        colour = ((colour * weight + 255 * (255 - weight) + 127) // 255).astype(np.uint8)
    return colour[..., 0] if colour.shape[-1] == 1 else colour


def _mask_from_pil(img: Image.Image, name: str) -> np.ndarray:
    img = _with_alpha(img)
    if img.mode in _ALPHA_MODES:
        alpha = np.asarray(img.getchannel("A"))
        if alpha.min() < 255:
            return alpha / np.float32(255)
        # Fully opaque: the mask was painted in the colour channels.
    if img.mode in _WIDE_GREY_MODES:
        return _unit_range(np.asarray(img), name)
    pixels, _ = _pixels_from_pil(img, name, [])
    if pixels.ndim == 2:
        return pixels / np.float32(255)
    return (pixels @ _LUMA) / np.float32(255)


def _labels_from_pil(img: Image.Image, name: str) -> np.ndarray:
    """Class indices as stored: palette images give their indices, not their colours."""
    if img.mode in ("L", "P"):
        return np.array(img)
    if img.mode == "1":
        return np.array(img.convert("L")) // 255
    if img.mode in _GREY16_MODES or img.mode == "I":
        return np.asarray(img).astype(np.int32)
    raise InputError(
        f"{name}: a label map must hold one class index per pixel (8-bit grey or palette PNG), "
        f"not a {img.mode} picture"
    )


def _check_label_values(labels: np.ndarray, classes: int, name: str) -> None:
    bad = ((labels < 0) | (labels >= classes)) & (labels != UNLABELLED)
    if bad.any():
        raise InputError(
            f"{name}: label {labels[bad].flat[0]} is not a class index (0..{classes - 1}) "
            f"or {UNLABELLED} (unlabelled); is it a colour picture or another dataset's labels?"
        )


def _check_same_size(shape: tuple[int, ...], size: tuple[int, int], name: str) -> None:
    height, width = shape
    if (height, width) != tuple(size):
        raise InputError(
            f"{name} is {width}x{height} but the image is {size[1]}x{size[0]} (width x height); "
            "it must have the image's size"
        )


def _unit_range(samples: np.ndarray, name: str) -> np.ndarray:
    """Mask samples in [0, 1]: bool as 0/1, uint8 / 255, 16-bit / 65535, float as is."""
    if samples.dtype == bool:
        return samples.astype(np.float32)
    if samples.dtype == np.uint8:
        return samples / np.float32(255)
    if samples.dtype.kind == "f":
        _check_unit_floats(samples, name)
        return samples.astype(np.float32)
    if samples.dtype.kind in "ui" and samples.dtype.itemsize in (2, 4):
        _check_16bit_range(samples, name)
        return (samples / 65535).astype(np.float32)
    raise InputError(f"{name}: a mask must be bool, uint8, uint16 or float in [0, 1], not {samples.dtype}")


def _check_unit_floats(samples: np.ndarray, name: str) -> None:
    if not np.isfinite(samples).all() or samples.min() < 0 or samples.max() > 1:
        raise InputError(f"{name}: floating-point samples must lie in [0, 1]; rescale the image first")


def _check_16bit_range(samples: np.ndarray, name: str) -> None:
    if samples.min() < 0 or samples.max() > 65535:
        raise InputError(
            f"{name}: samples outside 0..65535 cannot be read as 16-bit; save the image as 8- or 16-bit"
        )


# --- writing --------------------------------------------------------------------------------------


def _read_umask() -> int:
    # The umask can only be read by setting it; do that once, at import, not per write.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    overwrite: bool = False,
    protect: Iterable[str | os.PathLike[str]] = (),
) -> None:
    """Write ``data`` to ``path`` all at once or not at all; never over an input in ``protect``."""
    target = Path(path)
    check_writable(target, overwrite=overwrite, protect=protect)
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o666 & ~_UMASK
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as e:
        raise OutputError(f"{target}: cannot write it ({_reason(e)})") from e
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # mkstemp makes files private (0600)
        os.replace(tmp, target)
    except OSError as e:
        _remove_quietly(tmp)
        raise OutputError(f"{target}: cannot write it ({_reason(e)})") from e
    except BaseException:
        _remove_quietly(tmp)
        raise


def check_writable(
    target: str | os.PathLike[str], *, overwrite: bool = False, protect: Iterable[str | os.PathLike[str]] = ()
) -> None:
    """Refuse ``target`` as atomic_write would: one of the inputs in ``protect``, a folder, or there already.

    A command that writes several files for one input checks them all with this before writing any.
    """
    target = Path(target)
    if any(_same_file(target, other) for other in protect):
        raise OptionError(
            f"{target}: is one of the input files; refusing to overwrite it, choose another output"
        )
    if target.is_dir():
        raise OutputError(f"{target}: is a directory; give a file name")
    if os.path.lexists(target) and not overwrite:
        raise OptionError(f"{target} exists; pass --overwrite to replace it")


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist, so they cannot be the same file
        return False


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def output_path(
    input_path: str | os.PathLike[str], output: str | os.PathLike[str], extension: str, *, many: bool
) -> Path:
    """Where the output for ``input_path`` goes, given ``-o output``; see the module docstring."""
    out = Path(output)
    as_folder = many or out.is_dir() or os.fspath(output).endswith(("/", os.sep))
    if not as_folder:
        return out
    suffix = extension if extension.startswith(".") else f".{extension}"
    return out / f"{Path(input_path).stem}{suffix}"


LABELS_SUFFIX = "-labels"  # segpress segment writes NAME-labels.png (and NAME-overlay.png)


def companion_names(stem: str, kind: str) -> tuple[str, ...]:
    """The names a folder of masks or label maps may hold for the image ``stem`` (a name or relative
    path without extension), in the order they are looked for: ``stem.png``, and for label maps also
    ``stem-labels.png``, the name ``segpress segment`` writes, so its folder feeds ``--labels`` as it is."""
    names = (f"{stem}.png",)
    return (*names, f"{stem}{LABELS_SUFFIX}.png") if kind == "labels" else names


# --- messages -------------------------------------------------------------------------------------


def _reason(error: OSError) -> str:
    return error.strerror or _one_line(error)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
