"""JPEG XL by lossless transcoding of the region-adaptive JPEG.

libjxl re-encodes the JPEG's own DCT coefficients with stronger entropy coding and keeps what it needs
to give back the identical JPEG bytes (``jpegxl_decode_jpeg``), metadata segments included. The
uniform reference is therefore a uniform JPEG transcoded the same way.
"""

from __future__ import annotations

import imagecodecs
import numpy as np

from ..embedded import EmbeddedMap
from . import register
from .base import Codec, EncodeSettings, Metadata, UniformEncoder
from .jpeg import JpegCodec

_CONTAINER_MAGIC = b"\x00\x00\x00\x0cJXL \r\n\x87\n"
_CODESTREAM_MAGIC = b"\xff\x0a"


class JpegXlCodec(Codec):
    name = "jxl"
    extensions = (".jxl",)
    mime = "image/jxl"
    description = "libjxl via imagecodecs (lossless JPEG transcode)"
    uniform_reference = "uniform JPEG transcoded losslessly to JPEG XL"
    # imagecodecs: JpegxlError from libjxl, ValueError for data that is not JPEG XL.
    library_errors = (imagecodecs.JpegxlError, ValueError)

    def __init__(self) -> None:
        self._jpeg = JpegCodec()

    @property
    def available(self) -> bool:
        return bool(imagecodecs.JPEGXL.available)

    def version(self) -> str:
        return imagecodecs.jpegxl_version()

    def check(self, data: bytes) -> bool:
        return data.startswith(_CONTAINER_MAGIC) or data.startswith(_CODESTREAM_MAGIC)

    def encode(
        self,
        pixels: np.ndarray,
        importance: np.ndarray,
        settings: EncodeSettings,
        metadata: Metadata = Metadata(),
    ) -> bytes:
        return self.transcode(self._jpeg.encode(pixels, importance, self._baseline(settings), metadata))

    def encode_uniform(
        self, pixels: np.ndarray, quality: int, settings: EncodeSettings, metadata: Metadata = Metadata()
    ) -> bytes:
        return self.transcode(self._jpeg.encode_uniform(pixels, quality, self._baseline(settings), metadata))

    def uniform_baselines(self, pixels: np.ndarray, settings: EncodeSettings) -> dict[str, UniformEncoder]:
        """The JPEG codec's other uniform encoders (libjpeg-turbo beside jpegli), transcoded the same way."""
        def transcoded(encode: UniformEncoder) -> UniformEncoder:
            return lambda pixels, quality, settings, metadata: self.transcode(
                encode(pixels, quality, self._baseline(settings), metadata))

        others = self._jpeg.uniform_baselines(pixels, self._baseline(settings))
        return {f"{name} (transcoded)": transcoded(encode) for name, encode in others.items()}

    @staticmethod
    def _baseline(settings: EncodeSettings) -> EncodeSettings:
        # JPEG XL re-does the entropy coding anyway: a progressive pass before it would only cost time.
        return EncodeSettings(settings.roi_quality, settings.bg_quality, False, settings.subsampling)

    @staticmethod
    def transcode(jpeg: bytes) -> bytes:
        return imagecodecs.jpegxl_encode_jpeg(jpeg)

    @staticmethod
    def to_jpeg(data: bytes) -> bytes:
        """The exact JPEG the file was transcoded from."""
        return imagecodecs.jpegxl_decode_jpeg(data)

    def decode(self, data: bytes) -> np.ndarray:
        return np.asarray(imagecodecs.jpegxl_decode(data))

    def read_map(self, data: bytes) -> EmbeddedMap | None:
        try:
            jpeg = self.to_jpeg(data)
        except (imagecodecs.JpegxlError, ValueError):
            return None  # not made from a JPEG: no segpress segment to find
        return self._jpeg.read_map(jpeg)


register(JpegXlCodec())
