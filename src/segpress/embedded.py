"""The importance map carried inside an output file (``--keep-map``), and reading it back.

Layout of the payload (the codec decides where it lives; JPEG puts it in an APP10 segment)::

    version (1 byte) | JSON length (4 bytes, big-endian) | JSON (UTF-8) | PNG of the map (8-bit grey)

The JSON says how the file was made (qualities, source of the importance, protected classes); the
PNG is the map at most 128 px on its longer side and quantised to 16 levels: a smooth map from the
segmentation model would otherwise cost tens of KB, and the codecs act on 8x8 blocks anyway. A
typical payload is 1-4 KB.
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

VERSION = 1
MAX_PAYLOAD = 60_000  # one JPEG segment holds 65,533 bytes
_LARGEST_SIDE = 128
_LEVELS = 15  # steps between 0 and 1: 16 grey levels


@dataclass
class EmbeddedMap:
    importance: np.ndarray  # uint8, downscaled, 255 = fully important
    info: dict[str, Any] = field(default_factory=dict)


def pack(importance: np.ndarray, info: dict[str, Any]) -> bytes:
    """Serialise a float map in [0, 1] and its description into one payload under ``MAX_PAYLOAD``."""
    header = json.dumps(info, separators=(",", ":"), sort_keys=True).encode()
    levels = np.rint(np.clip(importance, 0, 1) * _LEVELS) * (255 // _LEVELS)
    grey = Image.fromarray(levels.astype(np.uint8))
    side = _LARGEST_SIDE
    while True:
        small = grey.copy()
        small.thumbnail((side, side), Image.Resampling.BOX)
        buffer = io.BytesIO()
        small.save(buffer, "PNG", optimize=True)
        payload = bytes((VERSION,)) + struct.pack(">I", len(header)) + header + buffer.getvalue()
        if len(payload) <= MAX_PAYLOAD or side <= 16:
            return payload
        side //= 2


def unpack(payload: bytes) -> EmbeddedMap:
    """Inverse of :func:`pack`; raises ``ValueError`` on a payload it cannot read."""
    if len(payload) < 5 or payload[0] != VERSION:
        raise ValueError("unknown segpress map version")
    (length,) = struct.unpack(">I", payload[1:5])
    info = json.loads(payload[5 : 5 + length].decode())
    with Image.open(io.BytesIO(payload[5 + length :])) as png:
        importance = np.asarray(png.convert("L"))
    return EmbeddedMap(importance=importance, info=info)
