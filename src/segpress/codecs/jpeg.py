"""Region-adaptive JPEG: a standard JPEG whose quantisation follows the importance map block by block.

Data flow::

    pixels --Pillow (libjpeg-turbo), uniform at roi_quality--> coefficients (jpeglib)
    importance --max per block--> quality per block --jpeg_quant.requantize--> coarser background blocks
    --jpeglib (Huffman-optimised baseline)--> [mozjpeg lossless progressive pass] --> + EXIF/ICC/map segments

Entropy coding is always done by libjpeg or mozjpeg; segpress only changes coefficient values.
"""

from __future__ import annotations

import io
import os
import tempfile
from importlib.metadata import version as package_version
from pathlib import Path

import jpeglib
import mozjpeg_lossless_optimization as mozjpeg
import numpy as np
from PIL import Image, features

from ..embedded import EmbeddedMap, unpack
from ..importance import block_max
from . import jpeg_markers as markers
from . import register
from .base import Codec, EncodeSettings, Metadata
from .jpeg_quant import block_qualities, requantize

# libjpeg-turbo 2.1 inside jpeglib: the fastest of its builds here for reading and writing coefficients.
_JPEGLIB_BUILD = "turbo210"
# jpeglib talks to libjpeg through files; a RAM-backed folder keeps that off the disk where there is one.
_SCRATCH = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
_PILLOW_SUBSAMPLING = {"4:4:4": 0, "4:2:0": 2}
_COMPONENTS = (("Y", "luma"), ("Cb", "chroma"), ("Cr", "chroma"))


def pillow_encode(pixels: np.ndarray, quality: int, subsampling: str, optimize: bool) -> bytes:
    """A plain libjpeg-turbo encode through Pillow: the uniform reference and the coefficient source."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(
        buffer,
        "JPEG",
        quality=quality,
        subsampling=_PILLOW_SUBSAMPLING[subsampling],
        optimize=optimize,
    )
    return buffer.getvalue()


def adapt_coefficients(jpeg: jpeglib.DCTJPEG, importance: np.ndarray, settings: EncodeSettings) -> None:
    """Re-quantise every component of ``jpeg`` (read from a uniform roi-quality encode) in place."""
    v_max = int(jpeg.samp_factor[:, 0].max())
    h_max = int(jpeg.samp_factor[:, 1].max())
    present = [(i, name, kind) for i, (name, kind) in enumerate(_COMPONENTS) if getattr(jpeg, name) is not None]
    factors = {}
    for index, name, _ in present:
        v, h = (int(f) for f in jpeg.samp_factor[index])
        if v_max // v != h_max // h:
            raise ValueError("unequal horizontal and vertical subsampling is not supported")
        factors[name] = v_max // v  # a block of this component spans factor x factor luma blocks
    # Importance per 8x8 pixel cell once; subsampled components take the maximum over their cells.
    rows = max(getattr(jpeg, name).shape[0] * factors[name] for _, name, _ in present)
    cols = max(getattr(jpeg, name).shape[1] * factors[name] for _, name, _ in present)
    cells = block_max(importance, 8, rows, cols)
    for _, name, kind in present:
        blocks = getattr(jpeg, name)
        weights = block_max(cells, factors[name], blocks.shape[0], blocks.shape[1])
        qualities = block_qualities(weights, settings.roi_quality, settings.bg_quality)
        setattr(jpeg, name, requantize(blocks, qualities, settings.roi_quality, kind))


def adaptive_baseline(pixels: np.ndarray, importance: np.ndarray, settings: EncodeSettings) -> bytes:
    """The region-adaptive JPEG, baseline with optimised Huffman tables, no metadata."""
    uniform = pillow_encode(pixels, settings.roi_quality, settings.subsampling, optimize=False)
    jpeglib.version.set(_JPEGLIB_BUILD)
    with tempfile.TemporaryDirectory(prefix="segpress-", dir=_SCRATCH) as scratch:
        source, target = Path(scratch, "uniform.jpg"), Path(scratch, "adaptive.jpg")
        source.write_bytes(uniform)
        jpeg = jpeglib.read_dct(str(source))
        jpeg.load()
        adapt_coefficients(jpeg, importance, settings)
        jpeg.write_dct(str(target), flags=["+OPTIMIZE_CODING"])
        return target.read_bytes()


class JpegCodec(Codec):
    name = "jpeg"
    extensions = (".jpg", ".jpeg", ".jpe", ".jfif")
    mime = "image/jpeg"
    description = "libjpeg-turbo via Pillow, jpeglib, mozjpeg-lossless-optimization"
    uniform_reference = "uniform JPEG (libjpeg-turbo, optimised Huffman, same subsampling and scan mode)"

    @property
    def available(self) -> bool:
        return True  # all three libraries are hard dependencies of segpress

    def version(self) -> str:
        return (
            f"libjpeg-turbo {features.version('libjpeg_turbo')}, jpeglib {package_version('jpeglib')}, "
            f"mozjpeg-lossless-optimization {package_version('mozjpeg-lossless-optimization')}"
        )

    def check(self, data: bytes) -> bool:
        return data[:3] == b"\xff\xd8\xff"

    def encode(
        self,
        pixels: np.ndarray,
        importance: np.ndarray,
        settings: EncodeSettings,
        metadata: Metadata = Metadata(),
    ) -> bytes:
        return self.finish(adaptive_baseline(pixels, importance, settings), settings, metadata)

    def encode_uniform(
        self, pixels: np.ndarray, quality: int, settings: EncodeSettings, metadata: Metadata = Metadata()
    ) -> bytes:
        data = pillow_encode(pixels, quality, settings.subsampling, optimize=not settings.progressive)
        return self.finish(data, settings, metadata)

    def finish(self, data: bytes, settings: EncodeSettings, metadata: Metadata) -> bytes:
        """Optional lossless progressive pass, then the metadata segments (mozjpeg drops markers)."""
        if settings.progressive:
            data = mozjpeg.optimize(data)
        segments = (
            markers.exif_segments(metadata.exif)
            + markers.icc_segments(metadata.icc_profile)
            + ([markers.segment(markers.APP10, markers.SEGPRESS_HEADER + metadata.map_payload)]
               if metadata.map_payload else [])
        )
        return markers.insert_segments(data, segments)

    def decode(self, data: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(data)) as image:
            image.draft(None, None)
            return np.asarray(image.convert("L" if image.mode == "L" else "RGB"))

    def read_map(self, data: bytes) -> EmbeddedMap | None:
        payload = markers.find_payload(data, markers.APP10, markers.SEGPRESS_HEADER)
        return unpack(payload) if payload is not None else None


register(JpegCodec())
