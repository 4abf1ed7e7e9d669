"""``segpress inspect``: what a compressed file holds and which regions were protected."""

from __future__ import annotations

import io
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
from PIL import Image

from . import codecs
from .codecs import jpegli
from .codecs.jpeg_quant import LUMINANCE_BASE, ijg_table
from .embedded import EmbeddedMap
from .errors import InputError
from .metrics import bits_per_pixel


@dataclass
class Inspection:
    name: str
    format: str
    size: int
    width: int
    height: int
    map: EmbeddedMap | None
    quality: str | None = None  # what the file's own headers tell of its quality (JPEG tables)

    @property
    def bpp(self) -> float:
        return bits_per_pixel(self.size, self.height, self.width)

    def rows(self) -> list[tuple[str, str]]:
        rows = [
            ("format", self.format),
            ("size", f"{self.width}x{self.height}"),
            ("bytes", f"{self.size:,}"),
            ("bpp", f"{self.bpp:.3f}"),
        ]
        if self.quality is not None and self.map is None:
            rows.append(("quality", self.quality))
        if self.map is None:
            return rows + [("importance map", "none embedded (segpress compress --keep-map embeds one)")]
        info = self.map.info
        largest_first = sorted(info.get("regions", {}).items(), key=lambda item: item[1], reverse=True)
        regions = ", ".join(f"{name} {100 * share:.1f}%" for name, share in largest_first)
        height, width = self.map.importance.shape
        return rows + [
            ("qualities", f"roi {info.get('roi_quality')}, background {info.get('bg_quality')}"),
            ("importance from", str(info.get("source"))),
            ("important region", f"{100 * info.get('important_fraction', 0.0):.1f}% of the pixels"),
            ("protected classes", regions or "-"),
            ("map", f"{width}x{height} embedded, written by segpress {info.get('segpress')}"),
        ]

    def map_png(self) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(self.map.importance).save(buffer, "PNG")
        return buffer.getvalue()


def inspect_file(path: str | PathLike) -> Inspection:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (IsADirectoryError, PermissionError) as error:
        raise InputError(f"{path}: cannot read ({error.strerror})") from None
    codec = codecs.sniff(data)
    if codec is None:
        raise InputError(f"{path.name}: not a file segpress writes (JPEG or JPEG XL)")
    try:
        pixels = codec.decode(data)
        embedded = codec.read_map(data)
    except Exception as error:  # noqa: BLE001 - any decoder failure means the file is damaged
        raise InputError(f"{path.name}: corrupt {codec.name} file ({str(error).splitlines()[0]})") from None
    if embedded is not None and not _well_formed(embedded.info):
        raise InputError(f"{path.name}: corrupt segpress map segment (its description is malformed)")
    quality = jpeg_quality(data) if codec.name == "jpeg" else None
    return Inspection(path.name, codec.name, len(data), pixels.shape[1], pixels.shape[0], embedded, quality)


def jpeg_quality(data: bytes) -> str | None:
    """The IJG or jpegli quality whose luminance table the JPEG carries, when it is one (libjpeg, Pillow,
    jpegli, segpress).

    segpress keeps the finest table of the file (its roi quality) and lowers quality block by block
    (``codecs.jpeg_quant``), so for its files this is the quality where importance is 1.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            tables = getattr(image, "quantization", None) or {}
    except Exception:  # noqa: BLE001 - the pixels decoded already; no table, no estimate
        return None
    if 0 not in tables or len(tables[0]) != 64:
        return None
    luma = np.asarray(tables[0], dtype=np.int64)
    for quality in range(1, 101):
        if np.array_equal(ijg_table(LUMINANCE_BASE, quality).ravel().astype(np.int64), luma):
            return f"{quality} (IJG tables)"
    if jpegli.available():
        for quality in range(1, 101):
            if np.array_equal(jpegli.tables()["luma"][quality].ravel().astype(np.int64), luma):
                return f"{quality} (jpegli tables)"
    return "custom tables (not an IJG or jpegli quality)"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _well_formed(info: object) -> bool:
    """Whether a map description has the types ``Inspection.rows`` formats (the file may be foreign)."""
    if not isinstance(info, dict):
        return False
    regions = info.get("regions", {})
    return (
        _is_number(info.get("important_fraction", 0.0))
        and isinstance(regions, dict)
        and all(_is_number(share) for share in regions.values())
    )
