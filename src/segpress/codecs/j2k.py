"""JPEG 2000 (OpenJPEG through Pillow), region-adaptive by background conditioning.

Data flow::

    pixels --conditioning (flatten, strength from bg_quality)--> --OpenJPEG, 9/7 wavelet, PSNR target--> .jp2

(A wavelet has no block grid to align with, so the edge-keeping ``flatten`` stays; JPEG 2000 has no BD-rate
target, so its calibration is the one that leaves the background about as faithful as region-adaptive
JPEG's.)

OpenJPEG has no quality scale, only a compression ratio or a PSNR target per quality layer. segpress
asks for a PSNR target: the one a libjpeg encode at the same quality typically reaches on photos,
``31.5 - 8 * log10(s(q))`` dB with s the libjpeg quantiser scale (30 dB at quality 30, 31.5 at 50,
35.7 at 85, 39.5 at 95; 47.5 at 100), so quality means roughly what it means for JPEG. The target is
continuous, so rate control searches it continuously.

The PSNR target is for the whole picture: OpenJPEG's rate allocation spends the error where it is
cheapest. A conditioned background is nearly free to get right, so the important region takes a larger
share of the error than in a uniform encode at the same quality (on 8 CamVid frames at quality 85:
31.5 dB inside instead of 34.5). The saving segpress reports compares at the same PSNR inside, which
accounts for it, and ``fit_roi_psnr`` reaches a PSNR inside directly. (Raising the target by the
region's share was tried: it restores the PSNR inside but makes the file grow as the background
quality falls, which breaks rate control, for one point of BD-rate.)

Colour images use the irreversible colour transform (``mct=1``). The file is always a JP2 container
(also when the output is named ``.j2k``; decoders identify it by its signature box). Pillow writes no
ICC profile, EXIF or XMP into JPEG 2000 files: those are dropped, and no importance map is embedded.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import features

from . import register
from .base import EncodeSettings, Metadata
from .conditioned import ConditionedCodec, pillow_save
from .jpeg_quant import jpeg_scale

_JP2_MAGIC = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_CODESTREAM_MAGIC = b"\xff\x4f\xff\x51"
_RESOLUTIONS = 6  # OpenJPEG's default number of wavelet levels + 1


def target_psnr(quality: float) -> float:
    """The PSNR target (dB) OpenJPEG is given for ``quality``."""
    return 31.5 - 8.0 * math.log10(max(jpeg_scale(quality), 0.01))


class Jpeg2000Codec(ConditionedCodec):
    name = "j2k"
    extensions = (".jp2", ".j2k")
    mime = "image/jp2"
    description = "OpenJPEG via Pillow (9/7 wavelet, PSNR target, background conditioning)"
    uniform_reference = "uniform JPEG 2000 (OpenJPEG, same PSNR-target mapping)"
    conditioning_scale = 0.3

    @property
    def available(self) -> bool:
        return bool(features.check("jpg_2000"))

    def version(self) -> str:
        return f"OpenJPEG {features.version('jpg_2000')}"

    def check(self, data: bytes) -> bool:
        return data.startswith((_JP2_MAGIC, _CODESTREAM_MAGIC))

    def encode_pixels(self, pixels: np.ndarray, quality: float, settings: EncodeSettings, metadata: Metadata) -> bytes:
        # Each wavelet level halves the picture: the smallest side must keep at least one sample.
        levels = max(1, min(_RESOLUTIONS, int(math.log2(max(1, min(pixels.shape[:2])))) + 1))
        return pillow_save(
            pixels,
            "JPEG2000",
            quality_mode="dB",
            quality_layers=[target_psnr(quality)],
            irreversible=True,
            mct=1 if pixels.ndim == 3 else 0,
            num_resolutions=levels,
        )


register(Jpeg2000Codec())
