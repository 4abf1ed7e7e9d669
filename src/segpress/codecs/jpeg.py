"""Region-adaptive JPEG: a standard JPEG whose quantisation follows the importance map block by block.

Data flow::

    pixels --uniform encode at roi_quality (the core: jpegli, or libjpeg-turbo via Pillow)--> coefficients (jpeglib)
    importance --max per block--> quality per block --jpeg_quant.requantize with the core's own tables-->
    coarser background blocks --jpeglib (Huffman-optimised baseline)--> [mozjpeg lossless progressive pass]
    --> + EXIF/ICC/map segments

Entropy coding is always done by libjpeg or mozjpeg; segpress only changes coefficient values, so blocks
of importance 1 hold exactly the coefficients of the core's uniform encode at roi_quality.

The core is jpegli (``segpress.codecs.jpegli``) where it is installed and can write the picture (RGB,
4:2:0); libjpeg-turbo otherwise: greyscale, 4:4:4, and installs without the ``jpegli`` extra (with
a note in the result).
``encode_uniform`` uses the same core: the reference the saving is measured against is the best plain
encode segpress has, and ``uniform_baselines`` offers the other core as a second reference.
"""

from __future__ import annotations

import functools
import io
import os
import tempfile
from collections.abc import Callable
from importlib.metadata import version as package_version
from pathlib import Path

import jpeglib
import mozjpeg_lossless_optimization as mozjpeg
import numpy as np
from PIL import Image, features

from ..embedded import EmbeddedMap, unpack
from ..imageio import pillow_pixels
from ..importance import block_max
from . import jpeg_markers as markers
from . import jpegli, register
from .base import Codec, EncodeSettings, Metadata, UniformEncoder
from .jpeg_quant import block_qualities, ijg_tables, requantize

# libjpeg-turbo 2.1 inside jpeglib: the fastest of its builds here for reading and writing coefficients.
_JPEGLIB_BUILD = "turbo210"
# jpeglib talks to libjpeg through files; a RAM-backed folder keeps that off the disk where there is one.
_SCRATCH = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
_PILLOW_SUBSAMPLING = {"4:4:4": 0, "4:2:0": 2}
_COMPONENTS = (("Y", "luma"), ("Cb", "chroma"), ("Cr", "chroma"))

JPEGLI, TURBO = "jpegli", "libjpeg-turbo"
CORES = (JPEGLI, TURBO)
# jpegli by measurement: benchmarks/jpeg_roi.py on CamVid val (README, "Results").
DEFAULT_CORE = JPEGLI


def pillow_encode(pixels: np.ndarray, quality: int, subsampling: str, optimize: bool) -> bytes:
    """A plain libjpeg-turbo encode through Pillow."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(
        buffer,
        "JPEG",
        quality=quality,
        subsampling=_PILLOW_SUBSAMPLING[subsampling],
        optimize=optimize,
    )
    return buffer.getvalue()


def core_for(pixels: np.ndarray, subsampling: str, preferred: str = DEFAULT_CORE) -> str:
    """The core that encodes ``pixels``: ``preferred`` where it can, libjpeg-turbo otherwise."""
    if preferred == JPEGLI and jpegli.supports(pixels, subsampling):
        return JPEGLI
    return TURBO


def uniform_encode(pixels: np.ndarray, quality: int, subsampling: str, core: str, optimize: bool = True) -> bytes:
    """A plain baseline encode by ``core``; ``optimize``: Huffman tables fitted to the picture.

    jpegli's own Huffman tables are about 4 % bigger than fitted ones, so its file is re-written
    (losslessly, by jpeglib) when ``optimize`` is asked for.
    """
    if core == JPEGLI:
        data = jpegli.encode(pixels, quality)
        return rewrite(data) if optimize else data
    return pillow_encode(pixels, quality, subsampling, optimize)


def rewrite(data: bytes, change: Callable[[jpeglib.DCTJPEG], None] | None = None, optimize: bool = True) -> bytes:
    """``data``'s coefficients, changed in place by ``change`` if given, written with fitted Huffman tables
    (``optimize``; without it libjpeg's standard ones, for a progressive pass that re-does them anyway)."""
    jpeglib.version.set(_JPEGLIB_BUILD)
    with tempfile.TemporaryDirectory(prefix="segpress-", dir=_SCRATCH) as scratch:
        source, target = Path(scratch, "source.jpg"), Path(scratch, "target.jpg")
        source.write_bytes(data)
        jpeg = jpeglib.read_dct(str(source))
        jpeg.load()
        if change is not None:
            change(jpeg)
        jpeg.write_dct(str(target), flags=["+OPTIMIZE_CODING"] if optimize else [])
        return target.read_bytes()


def core_tables(core: str) -> dict[str, np.ndarray]:
    """The step per background quality, by component kind (luma, chroma): what ``requantize`` uses."""
    if core == JPEGLI:
        return jpegli.background_tables()
    return {"luma": ijg_tables("luma"), "chroma": ijg_tables("chroma")}


def adapt_coefficients(
    jpeg: jpeglib.DCTJPEG, importance: np.ndarray, settings: EncodeSettings, tables: dict[str, np.ndarray]
) -> None:
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
    for index, name, kind in present:
        blocks = getattr(jpeg, name)
        weights = block_max(cells, factors[name], blocks.shape[0], blocks.shape[1])
        qualities = block_qualities(weights, settings.roi_quality, settings.bg_quality)
        file_table = jpeg.qt[jpeg.quant_tbl_no[index]]
        setattr(jpeg, name, requantize(blocks, qualities, settings.roi_quality, tables[kind], file_table))


def adaptive_baseline(
    pixels: np.ndarray, importance: np.ndarray, settings: EncodeSettings, core: str, optimize: bool = True
) -> bytes:
    """The region-adaptive JPEG on ``core``, baseline with optimised Huffman tables (``optimize``; without
    it the standard ones: mozjpeg's progressive pass gives the same bytes either way), no metadata."""
    uniform = uniform_encode(pixels, settings.roi_quality, settings.subsampling, core, optimize=False)
    tables = core_tables(core)
    return rewrite(uniform, lambda jpeg: adapt_coefficients(jpeg, importance, settings, tables), optimize)


class JpegCodec(Codec):
    name = "jpeg"
    extensions = (".jpg", ".jpeg", ".jpe", ".jfif")
    mime = "image/jpeg"
    description = "jpegli (pyjpegli) or libjpeg-turbo via Pillow, jpeglib, mozjpeg-lossless-optimization"

    def __init__(self, core: str = DEFAULT_CORE) -> None:
        if core not in CORES:
            raise ValueError(f"unknown JPEG core {core!r}; choose one of: {', '.join(CORES)}")
        self.core = core  # preferred: libjpeg-turbo still writes what jpegli cannot (core_for)

    @property
    def uniform_reference(self) -> str:  # type: ignore[override]
        core = TURBO if self.core == TURBO or not jpegli.available() else "jpegli where it applies, else libjpeg-turbo"
        return f"uniform JPEG ({core}; optimised Huffman, same subsampling and scan mode)"

    @property
    def available(self) -> bool:
        return True  # libjpeg-turbo, jpeglib and mozjpeg are hard dependencies; jpegli is optional

    def version(self) -> str:
        return (
            f"{jpegli.version()}, libjpeg-turbo {features.version('libjpeg_turbo')}, "
            f"jpeglib {package_version('jpeglib')}, "
            f"mozjpeg-lossless-optimization {package_version('mozjpeg-lossless-optimization')}"
        )

    def check(self, data: bytes) -> bool:
        return data[:3] == b"\xff\xd8\xff"

    def notes(self, pixels: np.ndarray, settings: EncodeSettings) -> list[str]:
        # Greyscale and 4:4:4 go to libjpeg-turbo silently (README, --help): nothing the user could change.
        if self.core != JPEGLI or jpegli.available():
            return []
        return [f"jpegli is not installed: libjpeg-turbo encoded the JPEG ({jpegli.INSTALL_HINT} for smaller files)"]

    def encode(
        self,
        pixels: np.ndarray,
        importance: np.ndarray,
        settings: EncodeSettings,
        metadata: Metadata = Metadata(),
    ) -> bytes:
        core = core_for(pixels, settings.subsampling, self.core)
        baseline = adaptive_baseline(pixels, importance, settings, core, optimize=not settings.progressive)
        return self.finish(baseline, settings, metadata)

    def encode_uniform(
        self, pixels: np.ndarray, quality: int, settings: EncodeSettings, metadata: Metadata = Metadata()
    ) -> bytes:
        return self._uniform_on(core_for(pixels, settings.subsampling, self.core), pixels, quality, settings, metadata)

    def uniform_baselines(self, pixels: np.ndarray, settings: EncodeSettings) -> dict[str, UniformEncoder]:
        """The other core's uniform encode, where it can write ``pixels``: a second reference."""
        own = core_for(pixels, settings.subsampling, self.core)
        others = [core for core in CORES if core != own and core_for(pixels, settings.subsampling, core) == core]
        return {core: functools.partial(self._uniform_on, core) for core in others}

    def uniform_drafts(self, pixels: np.ndarray, settings: EncodeSettings) -> dict[str | None, UniformEncoder]:
        """Each core's plain baseline encode, Huffman tables as the core writes them: the same coefficients,
        so the same pixels, as the real file, without its lossless passes (jpeglib's Huffman fit, mozjpeg's
        progressive pass: four fifths of a uniform encode's time at 768x512)."""
        own = core_for(pixels, settings.subsampling, self.core)
        cores = {None: own} | {name: name for name in self.uniform_baselines(pixels, settings)}
        return {name: functools.partial(self._draft_on, core) for name, core in cores.items()}

    @staticmethod
    def _draft_on(core: str, pixels: np.ndarray, quality: int, settings: EncodeSettings, metadata: Metadata) -> bytes:
        return uniform_encode(pixels, quality, settings.subsampling, core, optimize=False)

    def _uniform_on(
        self, core: str, pixels: np.ndarray, quality: int, settings: EncodeSettings, metadata: Metadata
    ) -> bytes:
        # The progressive pass re-does the Huffman coding anyway: libjpeg-turbo skips its own optimisation.
        data = uniform_encode(pixels, quality, settings.subsampling, core, optimize=not settings.progressive)
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
            return pillow_pixels(image, "L" if image.mode == "L" else "RGB")

    def read_map(self, data: bytes) -> EmbeddedMap | None:
        payload = markers.find_payload(data, markers.APP10, markers.SEGPRESS_HEADER)
        return unpack(payload) if payload is not None else None


class TurboJpegCodec(JpegCodec):
    """The region-adaptive JPEG on libjpeg-turbo alone, whatever is installed: segpress's JPEG before
    jpegli, chosen by name (``.jpg`` stays ``jpeg``), and the uniform libjpeg-turbo curve of ``segpress bench``."""

    name = "jpeg-turbo"
    description = "libjpeg-turbo via Pillow, jpeglib, mozjpeg-lossless-optimization"

    def __init__(self) -> None:
        super().__init__(TURBO)


register(JpegCodec())
register(TurboJpegCodec())
