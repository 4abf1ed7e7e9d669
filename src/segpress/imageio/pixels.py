"""Pixel conversions: Pillow modes and numpy arrays to uint8 RGB or grey, masks and label maps."""

from __future__ import annotations

import numpy as np
from PIL import Image

from ..errors import InputError
from ..taxonomy import UNLABELLED
from .limits import check_size

GREY16_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
_WIDE_GREY_MODES = GREY16_MODES | {"I", "F"}
# Modes with an alpha channel, and the straight-alpha mode each converts to.
_ALPHA_MODES = {"RGBA": "RGBA", "RGBa": "RGBA", "PA": "RGBA", "LA": "LA", "La": "LA"}
# Colour models converted to RGB; the ICC profile of all but YCbCr (an encoding of RGB) no longer applies.
_OTHER_COLOUR_MODES = frozenset({"CMYK", "LAB", "HSV", "YCbCr"})
# Pixels per strip when copying a decoded picture out of Pillow (pillow_pixels).
_STRIP_PIXELS = 1 << 18
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


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


def pixels_from_pil(img: Image.Image, name: str, notes: list[str]) -> tuple[np.ndarray, bool]:
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


def pixels_from_array(array: np.ndarray, name: str, max_pixels: int, notes: list[str]) -> np.ndarray:
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise InputError(f"{name}: an image array must be HxW, HxWx3 or HxWx4, not shape {array.shape}")
    if array.dtype not in (np.uint8, np.uint16) and array.dtype.kind != "f":
        raise InputError(
            f"{name}: an image array must be uint8, uint16 or float in [0, 1], not {array.dtype}"
        )
    check_size(array.shape[1], array.shape[0], name, max_pixels)
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


def mask_from_pil(img: Image.Image, name: str) -> np.ndarray:
    img = _with_alpha(img)
    if img.mode in _ALPHA_MODES:
        alpha = np.asarray(img.getchannel("A"))
        if alpha.min() < 255:
            return alpha / np.float32(255)
        # Fully opaque: the mask was painted in the colour channels.
    if img.mode in _WIDE_GREY_MODES:
        return unit_range(np.asarray(img), name)
    pixels, _ = pixels_from_pil(img, name, [])
    if pixels.ndim == 2:
        return pixels / np.float32(255)
    return (pixels @ _LUMA) / np.float32(255)


def labels_from_pil(img: Image.Image, name: str) -> np.ndarray:
    """Class indices as stored: palette images give their indices, not their colours."""
    if img.mode in ("L", "P"):
        return np.array(img)
    if img.mode == "1":
        return np.array(img.convert("L")) // 255
    if img.mode in GREY16_MODES or img.mode == "I":
        return np.asarray(img).astype(np.int32)
    raise InputError(
        f"{name}: a label map must hold one class index per pixel (8-bit grey or palette PNG), "
        f"not a {img.mode} picture"
    )


def check_label_values(labels: np.ndarray, classes: int, name: str) -> None:
    bad = ((labels < 0) | (labels >= classes)) & (labels != UNLABELLED)
    if bad.any():
        raise InputError(
            f"{name}: label {labels[bad].flat[0]} is not a class index (0..{classes - 1}) "
            f"or {UNLABELLED} (unlabelled); is it a colour picture or another dataset's labels?"
        )


def unit_range(samples: np.ndarray, name: str) -> np.ndarray:
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
