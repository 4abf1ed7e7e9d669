"""Shared fixtures: real photos from scikit-image (shipped in its wheel) and generated images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from skimage import data

from segpress import codecs

# Built files (the int8 text detector) go to the repository's build folder, not the user's cache;
# worker processes that tests start inherit it.
os.environ.setdefault("SEGPRESS_CACHE_DIR", str(Path(__file__).resolve().parent.parent / "build" / "test-cache"))


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    return np.ascontiguousarray(data.astronaut())


@pytest.fixture(scope="session")
def coffee() -> np.ndarray:
    """400x600: a size that is not a multiple of 16, so MCU padding is exercised."""
    return np.ascontiguousarray(data.coffee()[:397, :601])


@pytest.fixture(scope="session")
def centre_mask():
    """A mask that is important in a rectangle in the middle of the image."""

    def make(shape: tuple[int, ...]) -> np.ndarray:
        height, width = shape[:2]
        mask = np.zeros((height, width), dtype=np.float32)
        mask[height // 4 : height // 2, width // 3 : 2 * width // 3] = 1.0
        return mask

    return make


@pytest.fixture
def codec(name: str) -> codecs.Codec:
    """The codec the test's ``name`` parameter names (``@pytest.mark.parametrize("name", codecs.names())``);
    the test is skipped on a machine without that codec's library."""
    if name not in codecs.available_names():
        pytest.skip(f"codec {name} is not installed here")
    return codecs.get(name)
