"""The pixel limit: an image over ``max_pixels`` is refused from its header, before anything is decoded."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from PIL import Image

from ..errors import InputError

DEFAULT_MAX_PIXELS = 178_956_970


def check_size(width: int, height: int, name: str, max_pixels: int) -> None:
    if width == 0 or height == 0:
        raise InputError(f"{name}: image has no pixels ({width}x{height})")
    if width * height > max_pixels:
        raise InputError(
            f"{name}: image is {width}x{height} = {width * height:,} pixels, over the limit of "
            f"{max_pixels:,}; raise it with --max-pixels if you trust this file"
        )


_limit_lock = threading.Lock()
_limit_users = 0
_saved_limit: int | None = None


@contextlib.contextmanager
def pillow_limit_lifted() -> Iterator[None]:
    """Switch off Pillow's global bomb check while any load runs: ``max_pixels`` replaces it.

    Pillow's check would refuse images a user allowed with --max-pixels, and it runs inside open and
    load, where no per-call limit can reach it. Counting the loads in progress lets threads overlap;
    the last one out restores Pillow's limit.
    """
    global _limit_users, _saved_limit
    with _limit_lock:
        if _limit_users == 0:
            _saved_limit = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = None
        _limit_users += 1
    try:
        yield
    finally:
        with _limit_lock:
            _limit_users -= 1
            if _limit_users == 0:
                Image.MAX_IMAGE_PIXELS = _saved_limit
