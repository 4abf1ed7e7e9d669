"""What the pixel codecs (WebP, AVIF, JPEG 2000, JPEG XL pixels) share: conditioning, then one encode.

None of these encoders, as reachable from Python, takes a spatial quality map. The region-adaptive
encode therefore conditions the pixels and runs the encoder once, at the roi quality::

    pixels, importance --conditioning.strength(roi, bg, method, scale)--> Conditioning
                       --conditioning.condition--> background texture removed, importance-1 pixels as given
                       --encoder at roi_quality--> file (+ ICC / EXIF / XMP where the container has them)

Importance-1 pixels reach the encoder untouched, so they are coded as a uniform encode at roi quality
would code them; the background has lost the detail the encoder would otherwise spend bytes on.
``bg_quality`` is not an encoder setting here: it sets the conditioning strength (see
:func:`segpress.conditioning.strength`); ``bg_quality >= roi_quality`` means no conditioning, i.e. the
uniform encode.

Qualities may be fractional for these codecs (rate control searches over them); a codec whose encoder
takes whole numbers only says so with ``roi_quality_step = 1``.

Calibration: each codec's ``conditioning_method`` and ``conditioning_scale``. What they give (PSNR
outside the region at the defaults, BD-rate on (bytes, PSNR inside) against the codec's own uniform
encode and against uniform AVIF, the conditioning's time) is the "Conditioning calibration" table of
``benchmarks/results/pixel_codecs.md``, which ``benchmarks/pixel_codecs.py`` regenerates on the 101
CamVid val frames (region: sign, car, pedestrian, bicyclist dilated 8 px; importance = the region).
Each scale was chosen on every 4th frame to reach the targets of ``benchmarks/pixel_codecs.py`` (BD-rate
<= -60 % for AVIF, <= -50 % for WebP and JPEG XL) with the background above 24 dB PSNR (segpress's
floor for every format), with room on both sides where there was room. JPEG 2000 has no
BD-rate target and keeps the calibration that matches region-adaptive JPEG's background. How the
methods and scales were chosen: ``benchmarks/README.md``.

The importance map (``--keep-map``) travels in an XMP packet where the container has one (WebP, AVIF):
the payload of :mod:`segpress.embedded`, base64-encoded, in a ``segpress:ImportanceMap`` property.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from abc import abstractmethod
from typing import ClassVar

import numpy as np
from PIL import Image

from .. import conditioning
from ..embedded import EmbeddedMap, unpack
from ..imageio import pillow_pixels
from .base import Codec, EncodeSettings, Metadata

EXIF_HEADER = b"Exif\x00\x00"
XMP_NAMESPACE = "http://ns.segpress/1.0/"
_XMP_TEMPLATE = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
    '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    f'<rdf:Description rdf:about="" xmlns:segpress="{XMP_NAMESPACE}">'
    "<segpress:ImportanceMap>{payload}</segpress:ImportanceMap>"
    "</rdf:Description></rdf:RDF></x:xmpmeta>"
    '<?xpacket end="r"?>'
)
_XMP_MAP = re.compile(rb"<segpress:ImportanceMap>([A-Za-z0-9+/=\s]*)</segpress:ImportanceMap>")


class ConditionedCodec(Codec):
    """A standard encoder with one quality, made region-adaptive by background conditioning."""

    # The conditioning method and the codec's calibration of its strength (see conditioning.strength):
    # chosen per codec from CamVid measurements (the table above).
    conditioning_method: ClassVar[str] = conditioning.DEFAULT_METHOD
    conditioning_scale: ClassVar[float] = 1.0
    conditioning_block: ClassVar[int] = 16  # sparsify's DCT block: the encoder's own transform size
    roi_quality_step: ClassVar[float] = 0.0
    bg_quality_step: ClassVar[float] = 0.0

    def encode(
        self,
        pixels: np.ndarray,
        importance: np.ndarray,
        settings: EncodeSettings,
        metadata: Metadata = Metadata(),
    ) -> bytes:
        strength = self.strength(settings)
        return self.encode_pixels(conditioning.condition(pixels, importance, strength), settings.roi_quality,
                                  settings, metadata)

    def encode_uniform(
        self, pixels: np.ndarray, quality: int, settings: EncodeSettings, metadata: Metadata = Metadata()
    ) -> bytes:
        return self.encode_pixels(pixels, quality, settings, metadata)

    def strength(self, settings: EncodeSettings) -> conditioning.Conditioning:
        """The background conditioning ``encode`` applies for these settings."""
        return conditioning.strength(
            settings.roi_quality, settings.bg_quality, self.conditioning_method, self.conditioning_scale,
            self.conditioning_block,
        )

    @abstractmethod
    def encode_pixels(self, pixels: np.ndarray, quality: float, settings: EncodeSettings, metadata: Metadata) -> bytes:
        """One plain encode of ``pixels`` at ``quality`` (1..100, possibly fractional)."""

    def decode(self, data: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(data)) as image:
            return pillow_pixels(image, "L" if image.mode == "L" else "RGB")

    def read_map(self, data: bytes) -> EmbeddedMap | None:
        return None


def exif_body(exif: bytes | None) -> bytes:
    """The TIFF structure of an EXIF block without the JPEG APP1 ``Exif\\0\\0`` header (WebP, AVIF)."""
    if not exif:
        return b""
    return exif.removeprefix(EXIF_HEADER)


def xmp_packet(payload: bytes | None) -> bytes:
    """An XMP packet carrying the segpress map payload, or ``b""`` without one."""
    if not payload:
        return b""
    return _XMP_TEMPLATE.format(payload=base64.b64encode(payload).decode("ascii")).encode("utf-8")


def map_from_xmp(xmp: bytes | str | None) -> EmbeddedMap | None:
    """The map inside an XMP packet written by :func:`xmp_packet`; None if there is none or it is damaged."""
    if not xmp:
        return None
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    found = _XMP_MAP.search(xmp)
    if found is None:
        return None
    try:
        return unpack(base64.b64decode(found.group(1), validate=False))
    except (ValueError, binascii.Error, OSError):
        return None


def pillow_xmp(data: bytes) -> bytes | None:
    """The XMP packet Pillow finds in a file, or None."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.info.get("xmp")
    except (OSError, ValueError, SyntaxError):
        return None


def pillow_save(pixels: np.ndarray, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format, **options)
    return buffer.getvalue()
