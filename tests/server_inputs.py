"""Uploads for the server tests: real photos in several formats, and hostile or broken files."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image
from skimage import data as skdata


def encoded(pixels: np.ndarray, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format, **options)
    return buffer.getvalue()


def chelsea_jpeg() -> bytes:
    """scikit-image's cat, 451x300, as a camera would send it."""
    return encoded(np.ascontiguousarray(skdata.chelsea()), "JPEG", quality=92)


def small_photos() -> list[tuple[str, bytes, str, tuple[int, int]]]:
    """(name, bytes, content type, (width, height)): small real photos in the usual formats."""
    cat = np.ascontiguousarray(skdata.chelsea()[20:220, 60:360])
    coffee = np.ascontiguousarray(skdata.coffee()[50:250, 150:450])
    astronaut = np.ascontiguousarray(skdata.astronaut()[::2, ::2])
    grey = np.ascontiguousarray(skdata.camera()[::3, ::3])
    return [
        ("cat.png", encoded(cat, "PNG"), "image/png", (300, 200)),
        ("coffee.jpg", encoded(coffee, "JPEG", quality=90), "image/jpeg", (300, 200)),
        ("astronaut.webp", encoded(astronaut, "WEBP", quality=90), "image/webp", (256, 256)),
        ("camera.bmp", encoded(grey, "BMP"), "application/octet-stream", (171, 171)),
    ]


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb's header)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def bad_uploads() -> list[tuple[str, bytes, str, int]]:
    """(name, bytes, content type, the status the server must answer)."""
    photo = chelsea_jpeg()
    png = small_photos()[0][1]
    return [
        ("notes.txt", b"just some text, no picture", "text/plain", 415),
        ("page.html", b"<html><body>hello</body></html>", "text/html", 415),
        ("fake.png", b"this is not a png at all" * 10, "image/png", 422),
        ("empty.jpg", b"", "image/jpeg", 422),
        ("truncated.jpg", photo[: len(photo) // 3], "image/jpeg", 422),
        ("truncated.png", png[: len(png) // 2], "image/png", 422),
        ("bomb.png", png_claiming(100_000, 100_000), "image/png", 422),
        ("random.bin", np.random.default_rng(7).bytes(5000), "application/octet-stream", 422),
        ("script.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml", 422),
    ]
