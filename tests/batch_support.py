"""Helpers for the batch tests: small photo trees, a local S3-compatible server, output checks.

Photos are crops of scikit-image's pictures, scaled down to 160x120 so the model and the encoder take
a few tens of milliseconds each; a few are JPEG or TIFF so the layout keeps several extensions.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

SIZE = (160, 120)  # width, height
TEMPORARY = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")  # atomic_write's temporary files
_PICTURES = ("astronaut", "coffee", "chelsea", "rocket")


def photo(index: int) -> Image.Image:
    """A different 160x120 photo crop for every index."""
    picture = getattr(skdata, _PICTURES[index % len(_PICTURES)])()
    height, width = picture.shape[:2]
    shift = (index // len(_PICTURES)) * 23
    top, left = shift % max(1, height // 3), (2 * shift) % max(1, width // 3)
    crop = np.ascontiguousarray(picture[top : top + 2 * height // 3, left : left + 2 * width // 3])
    return Image.fromarray(crop).convert("RGB").resize(SIZE, Image.Resampling.BILINEAR)


def encoded(image: Image.Image, suffix: str) -> bytes:
    buffer = io.BytesIO()
    kind = {".png": "PNG", ".jpg": "JPEG", ".tif": "TIFF"}[suffix]
    image.save(buffer, kind, **({"quality": 92} if kind == "JPEG" else {}))
    return buffer.getvalue()


def photo_tree(root: Path, names: list[str]) -> list[str]:
    """Write a photo under each relative name (the extension picks the format); returns the names."""
    for index, name in enumerate(names):
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(encoded(photo(index), target.suffix))
    return names


def centre_mask_png(size: tuple[int, int] = SIZE) -> bytes:
    mask = np.zeros((size[1], size[0]), np.uint8)
    mask[size[1] // 4 : 3 * size[1] // 4, size[0] // 4 : 3 * size[0] // 4] = 255
    buffer = io.BytesIO()
    Image.fromarray(mask).save(buffer, "PNG")
    return buffer.getvalue()


def decodes(data: bytes) -> bool:
    """Whether ``data`` is a complete image file (a truncated one fails to load)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not a complete image"
        return False


def manifest_lines(path: Path) -> list[dict[str, Any]]:
    """Every whole line of a manifest (a torn last line is left out, as the reader does)."""
    lines = []
    for line in path.read_bytes().splitlines(keepends=True):
        if line.endswith(b"\n"):
            lines.append(json.loads(line))
    return lines


def latest_records(path: Path) -> dict[str, dict[str, Any]]:
    return {line["input"]: line for line in manifest_lines(path) if "input" in line}


@pytest.fixture(scope="module")
def s3_server() -> Iterator[dict[str, str]]:
    """moto's S3 server on 127.0.0.1 (a free port), in this process; fsspec options to reach it."""
    pytest.importorskip("s3fs")
    moto_server = pytest.importorskip("moto.server")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    options = {"endpoint_url": f"http://{host}:{port}", "key": "testing", "secret": "testing"}
    try:
        yield options
    finally:
        server.stop()


def s3_filesystem(options: dict[str, str]) -> Any:
    import s3fs

    return s3fs.S3FileSystem(endpoint_url=options["endpoint_url"], key=options["key"], secret=options["secret"])


def storage_arguments(options: dict[str, str]) -> list[str]:
    """The same options as ``--storage-option KEY=VALUE`` arguments."""
    return [argument for key, value in options.items() for argument in ("--storage-option", f"{key}={value}")]
