"""JPEG XL from pixels (libjxl VarDCT through imagecodecs), region-adaptive by background conditioning.

Data flow::

    pixels --conditioning (blur, strength from bg_quality)--> --libjxl at distance(roi_quality)--> .jxl

libjxl's VarDCT picks its own block sizes and quantises adaptively, so no fixed grid can be aligned
with it: a plain Gaussian blur of the background saved slightly more for the PSNR lost than the
edge-keeping ``flatten`` or ``sparsify`` (measured in ``benchmarks/pixel_codecs.py``).

Naming: ``jxl`` stays the lossless transcode of the region-adaptive JPEG and keeps the ``.jxl``
extension; this codec is ``jxl-pixels``. It writes ``.jxl`` files too but is chosen by name only
(``--format jxl-pixels``), for three reasons: an existing ``-o out.jxl`` keeps meaning what it meant;
the transcode gives back the exact JPEG and carries the importance map, this one neither; and on
CamVid the transcode is the better file by the measure segpress reports (BD-rate on PSNR inside
against uniform JPEG: -56.0 % for ``jxl``, -48.5 % for ``jxl-pixels``; libjxl's VarDCT at effort 7
optimises a perceptual distance, not PSNR).

Quality maps to libjxl's Butteraugli distance as ``cjxl --quality`` does (libjxl's
``JxlEncoderDistanceFromQuality``): 0.1 + (100 - q) * 0.09 from 30 up (1.0 at 90, 1.45 at 85), a
quadratic below; 100 is lossless. The distance is continuous, so rate control searches it
continuously. imagecodecs writes no ICC profile, EXIF or XMP here: those are dropped, and no
importance map is embedded.
"""

from __future__ import annotations

import imagecodecs
import numpy as np

from . import register
from .base import EncodeSettings, Metadata
from .conditioned import ConditionedCodec
from .jxl import JpegXlCodec

DEFAULT_EFFORT = 7  # libjxl's default; 1 (fastest) .. 9


def distance(quality: float) -> float:
    """libjxl's Butteraugli distance for a ``cjxl --quality`` value (0 means lossless)."""
    if quality >= 100:
        return 0.0
    if quality >= 30:
        return 0.1 + (100.0 - quality) * 0.09
    return 53.0 / 3000.0 * quality * quality - 23.0 / 20.0 * quality + 25.0


class JpegXlPixelsCodec(ConditionedCodec):
    name = "jxl-pixels"
    extensions = (".jxl",)  # for_path() picks "jxl" (listed first); this one is chosen by name
    mime = "image/jxl"
    description = "libjxl via imagecodecs (VarDCT from pixels, background conditioning)"
    uniform_reference = "uniform JPEG XL from pixels (libjxl, same effort)"
    conditioning_method = "blur"  # VarDCT's variable blocks: a plain blur saves the most for the PSNR lost
    conditioning_scale = 2.4
    library_errors = JpegXlCodec.library_errors

    def __init__(self, effort: int = DEFAULT_EFFORT) -> None:
        self.effort = effort
        self._container = JpegXlCodec()

    # Same library and file format as the transcode codec: ask it.
    @property
    def available(self) -> bool:
        return self._container.available

    def version(self) -> str:
        return self._container.version()

    def check(self, data: bytes) -> bool:
        return self._container.check(data)

    def encode_pixels(self, pixels: np.ndarray, quality: float, settings: EncodeSettings, metadata: Metadata) -> bytes:
        target = distance(min(max(float(quality), 1.0), 100.0))
        if target == 0:
            return imagecodecs.jpegxl_encode(pixels, effort=self.effort if settings.effort is None else settings.effort, lossless=True)
        return imagecodecs.jpegxl_encode(pixels, effort=self.effort if settings.effort is None else settings.effort, distance=target)

    def decode(self, data: bytes) -> np.ndarray:
        return np.asarray(imagecodecs.jpegxl_decode(data))


register(JpegXlPixelsCodec())
