"""Application segments of a JPEG file: EXIF, ICC profile and segpress's own map segment.

The encoders that touch coefficients (jpeglib, mozjpeg's lossless pass) do not carry metadata over,
so segpress adds the segments to the finished file: right after the SOI marker and any JFIF APP0,
in the order EXIF (APP1), ICC (APP2, split in chunks as the ICC specification requires), segpress (APP10).
Only headers are parsed here; the entropy-coded data is never touched.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

SOI = b"\xff\xd8"
APP0, APP1, APP2, APP10 = 0xE0, 0xE1, 0xE2, 0xEA
SOS = 0xDA
_MAX_PAYLOAD = 65533  # a segment's length field counts itself (2 bytes) and tops out at 65535

EXIF_HEADER = b"Exif\x00\x00"
ICC_HEADER = b"ICC_PROFILE\x00"
SEGPRESS_HEADER = b"SEGPRESS\x00"
_ICC_CHUNK = _MAX_PAYLOAD - len(ICC_HEADER) - 2


class MarkerError(ValueError):
    """The bytes are not a JPEG stream this module can walk."""


def segment(marker: int, payload: bytes) -> bytes:
    if len(payload) > _MAX_PAYLOAD:
        raise MarkerError(f"segment payload of {len(payload)} bytes exceeds {_MAX_PAYLOAD}")
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def iter_segments(data: bytes) -> Iterator[tuple[int, int, bytes]]:
    """Yield (marker, offset, payload) for the header segments before the first scan."""
    if not data.startswith(SOI):
        raise MarkerError("not a JPEG stream (no SOI marker)")
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise MarkerError(f"corrupt JPEG header at byte {position}")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        yield marker, position, data[position + 4 : position + 2 + length]
        if marker == SOS:
            return
        position += 2 + length
    raise MarkerError("truncated JPEG header")


def exif_segments(exif: bytes | None) -> list[bytes]:
    if not exif:
        return []
    payload = exif if exif.startswith(EXIF_HEADER) else EXIF_HEADER + exif
    return [segment(APP1, payload)]


def icc_segments(profile: bytes | None) -> list[bytes]:
    if not profile:
        return []
    chunks = [profile[i : i + _ICC_CHUNK] for i in range(0, len(profile), _ICC_CHUNK)]
    if len(chunks) > 255:
        raise MarkerError("ICC profile too large for a JPEG file")
    return [
        segment(APP2, ICC_HEADER + bytes((index, len(chunks))) + chunk)
        for index, chunk in enumerate(chunks, start=1)
    ]


def insert_segments(data: bytes, segments: list[bytes]) -> bytes:
    """Insert ``segments`` after SOI and a leading JFIF APP0, dropping existing EXIF/ICC/segpress ones."""
    if not segments:
        return data
    kept = []
    insert_at = 2
    for marker, offset, payload in iter_segments(data):
        if marker == SOS:
            body_start = offset
            break
        length = 4 + len(payload)
        if marker == APP0 and offset == 2:
            insert_at = offset + length
        if _is_replaced(marker, payload):
            continue
        kept.append(data[offset : offset + length])
    head = b"".join(kept)
    if insert_at > 2:  # APP0 stays first, as JFIF requires
        first, rest = head[: insert_at - 2], head[insert_at - 2 :]
    else:
        first, rest = b"", head
    return SOI + first + b"".join(segments) + rest + data[body_start:]


def _is_replaced(marker: int, payload: bytes) -> bool:
    return (
        (marker == APP1 and payload.startswith(EXIF_HEADER))
        or (marker == APP2 and payload.startswith(ICC_HEADER))
        or (marker == APP10 and payload.startswith(SEGPRESS_HEADER))
    )


def find_payload(data: bytes, marker: int, header: bytes) -> bytes | None:
    """The payload (without ``header``) of the first ``marker`` segment that starts with ``header``."""
    for found, _, payload in iter_segments(data):
        if found == marker and payload.startswith(header):
            return payload[len(header) :]
    return None
