"""WebP (lossy, libwebp through Pillow), region-adaptive by background conditioning.

Data flow::

    pixels --conditioning (sparsify: 4x4 block DCT, VP8's transform, strength from bg_quality)-->
    --libwebp at roi_quality--> .webp

libwebp takes a fractional quality, so rate control can search it continuously. WebP lossy is always
4:2:0 and has no grey mode: ``subsampling`` is ignored and a grey image is stored as RGB (it decodes as
RGB; :func:`segpress.ratecontrol.decode_like` turns it back to grey for comparisons). ICC profile and
EXIF are carried in the container's ICCP and EXIF chunks; the importance map (``--keep-map``) in its
XMP chunk.
"""

from __future__ import annotations

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

# libwebp's compression effort, 0 (fast) to 6 (smallest); 4 is Pillow's and cwebp's default.
METHOD = 4
# --effort 1..9 as libwebp's method: 7, the default of the other encoders' scales, is method 4.
EFFORT_LEVELS = {1: 0, 2: 1, 3: 2, 4: 2, 5: 3, 6: 3, 7: 4, 8: 5, 9: 6}


class WebpCodec(ConditionedCodec):
    name = "webp"
    extensions = (".webp",)
    mime = "image/webp"
    description = "libwebp via Pillow (lossy, background conditioning)"
    uniform_reference = "uniform WebP (libwebp, same method)"
    conditioning_method = "sparsify"  # VP8 codes 4x4 DCT blocks
    conditioning_scale = 5.0
    conditioning_block = 4
    library_errors = (OSError, ValueError)  # Pillow's WebP plugin: ValueError("encoding error 5: ...")

    @property
    def available(self) -> bool:
        return bool(features.check("webp"))

    def version(self) -> str:
        return f"libwebp {features.version('webp')}"

    def check(self, data: bytes) -> bool:
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"

    def encode_pixels(self, pixels: np.ndarray, quality: float, settings: EncodeSettings, metadata: Metadata) -> bytes:
        return pillow_save(
            pixels,
            "WEBP",
            quality=min(max(float(quality), 0.0), 100.0),
            method=METHOD if settings.effort is None else EFFORT_LEVELS[settings.effort],
            icc_profile=metadata.icc_profile or b"",
            exif=exif_body(metadata.exif),
            xmp=xmp_packet(metadata.map_payload),
        )

    def read_map(self, data: bytes) -> EmbeddedMap | None:
        return map_from_xmp(pillow_xmp(data))


register(WebpCodec())
