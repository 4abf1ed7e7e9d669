"""AVIF (AV1 intra, libavif through Pillow), region-adaptive by background conditioning.

Data flow::

    pixels --conditioning (sparsify: 16x16 block DCT, strength from bg_quality)--> --libavif at roi_quality,
    speed 6--> .avif

The background is sparsified on AV1's own 16-pixel transform grid (see
:func:`segpress.conditioning.sparsify`): what stays of it costs AV1 few bits, which is why AVIF gets the
largest saving of the pixel codecs (measured in ``benchmarks/pixel_codecs.py``).

libavif's quality is a whole number (0..100, mapped onto AV1's 64 quantiser levels), so rate control
steps it by 1 and fills the rest of a size budget with the background's conditioning strength. Speed is
libavif's 0 (slowest, smallest) .. 10; 6 is Pillow's and avifenc's default. ``subsampling`` is honoured
(4:2:0 or 4:4:4; grey images are stored 4:0:0 and decode as grey). ICC profile, EXIF and the
importance map (``--keep-map``, in XMP) are carried in the container.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import features

from ..embedded import EmbeddedMap
from . import register
from .base import EncodeSettings, Metadata
from .conditioned import (
    ConditionedCodec,
    exif_body,
    map_from_xmp,
    pillow_save,
    pillow_xmp,
    xmp_packet,
)

DEFAULT_SPEED = 6
# --effort 1..9 as libavif's speed (10 fastest .. 0 slowest): 7 is the default speed 6; 9 stops at speed 2
# (0 and 1 take minutes per photo for a gain under a percent).
EFFORT_LEVELS = {1: 10, 2: 9, 3: 9, 4: 8, 5: 8, 6: 7, 7: 6, 8: 4, 9: 2}
# ISO BMFF: the ftyp box (bytes 4..8) names AVIF as its major brand, or a generic image brand with
# AVIF among the compatible ones.
_AVIF_BRANDS = (b"avif", b"avis")
_GENERIC_BRANDS = (b"mif1", b"msf1")


class AvifCodec(ConditionedCodec):
    name = "avif"
    extensions = (".avif",)
    mime = "image/avif"
    description = "libavif via Pillow (AV1 intra, background conditioning)"
    uniform_reference = "uniform AVIF (libavif, same speed and subsampling)"
    conditioning_method = "sparsify"  # AV1's DCTs start on the same 16-pixel grid
    conditioning_scale = 4.0
    conditioning_block = 16
    roi_quality_step = 1.0
    # Pillow's AVIF plugin: RuntimeError("Failed to encode image: ...") from libavif, ValueError for options.
    library_errors = (OSError, ValueError, RuntimeError)

    def __init__(self, speed: int = DEFAULT_SPEED) -> None:
        self.speed = speed

    @property
    def available(self) -> bool:
        return _can_encode()

    def version(self) -> str:
        return f"libavif {features.version('avif')}"

    def check(self, data: bytes) -> bool:
        if data[4:8] != b"ftyp" or len(data) < 16:
            return False
        major = data[8:12]
        if major in _AVIF_BRANDS:
            return True
        box_size = int.from_bytes(data[:4], "big")
        compatible = data[16 : min(box_size, len(data))]
        brands = {compatible[i : i + 4] for i in range(0, len(compatible) - 3, 4)}
        return major in _GENERIC_BRANDS and bool(brands & set(_AVIF_BRANDS))

    def encode_pixels(self, pixels: np.ndarray, quality: float, settings: EncodeSettings, metadata: Metadata) -> bytes:
        return pillow_save(
            pixels,
            "AVIF",
            quality=round(min(max(float(quality), 0.0), 100.0)),
            speed=self.speed if settings.effort is None else EFFORT_LEVELS[settings.effort],
            subsampling="4:0:0" if pixels.ndim == 2 else settings.subsampling,
            icc_profile=metadata.icc_profile or b"",
            exif=exif_body(metadata.exif),
            xmp=xmp_packet(metadata.map_payload),
        )

    def read_map(self, data: bytes) -> EmbeddedMap | None:
        return map_from_xmp(pillow_xmp(data))


@functools.cache
def _can_encode() -> bool:
    """Whether this Pillow writes AVIF (Pillow >= 11.3's wheels do, with libaom), asked through the public
    API: a libavif built with decoders only reads AVIF and cannot be the output format."""
    if not features.check("avif"):
        return False
    try:
        pillow_save(np.zeros((8, 8, 3), np.uint8), "AVIF", quality=50)
    except (OSError, ValueError, RuntimeError, KeyError):
        return False
    return True


register(AvifCodec())
