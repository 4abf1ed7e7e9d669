"""Importance map -> quantisation: the IJG tables and per-block re-quantisation."""

import jpeglib
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from segpress.codecs.jpeg_quant import (
    BACKGROUND_DEADZONE,
    CHROMINANCE_BASE,
    LUMINANCE_BASE,
    block_qualities,
    ijg_table,
    ijg_tables,
    requantize,
)
from segpress.importance import block_max


@pytest.mark.parametrize("quality", [1, 10, 25, 49, 50, 51, 75, 90, 100])
def test_tables_match_libjpeg(quality, tmp_path):
    """Our IJG tables are exactly the ones libjpeg-turbo (through Pillow) writes for a quality."""
    path = tmp_path / "q.jpg"
    Image.new("RGB", (16, 16)).save(path, "JPEG", quality=quality)
    jpeg = jpeglib.read_dct(str(path))
    jpeg.load()
    assert np.array_equal(jpeg.qt[0], ijg_table(LUMINANCE_BASE, quality))
    assert np.array_equal(jpeg.qt[1], ijg_table(CHROMINANCE_BASE, quality))


def test_table_rejects_quality_out_of_range():
    with pytest.raises(ValueError):
        ijg_table(LUMINANCE_BASE, 0)


coefficient_blocks = arrays(np.int16, st.tuples(st.integers(1, 4), st.integers(1, 4), st.just(8), st.just(8)),
                            elements=st.integers(-300, 300))


@given(blocks=coefficient_blocks, roi=st.integers(40, 100), bg=st.integers(1, 100), kind=st.sampled_from(["luma", "chroma"]))
@settings(max_examples=200, deadline=None)
def test_requantize_properties(blocks, roi, bg, kind):
    bg = min(bg, roi)
    qualities = np.full(blocks.shape[:2], bg, dtype=np.int32)
    qualities[0, 0] = roi
    result = requantize(blocks, qualities, roi, ijg_tables(kind))
    assert result.dtype == np.int16 and result.shape == blocks.shape
    # Full importance: exactly the input coefficients.
    assert np.array_equal(result[0, 0], blocks[0, 0])
    # Coarser blocks never gain energy from nowhere: a zero stays zero, magnitudes never grow
    # by more than the rounding to the coarse step, and signs never flip.
    base = LUMINANCE_BASE if kind == "luma" else CHROMINANCE_BASE
    roi_table, bg_table = ijg_table(base, roi), np.maximum(ijg_table(base, bg), ijg_table(base, roi))
    assert np.all(result[blocks == 0] == 0)
    assert np.all(np.sign(result) * np.sign(blocks) >= 0)
    error = np.abs(result.astype(float) - blocks) * roi_table
    assert np.all(error <= (0.5 + BACKGROUND_DEADZONE) * bg_table + roi_table / 2 + 1e-6)


@given(blocks=coefficient_blocks, roi=st.integers(30, 100), low=st.integers(1, 100), high=st.integers(1, 100))
@settings(max_examples=100, deadline=None)
def test_lower_quality_never_keeps_more_coefficients(blocks, roi, low, high):
    low, high = sorted((min(low, roi), min(high, roi)))
    shape = blocks.shape[:2]
    coarse = requantize(blocks, np.full(shape, low, np.int32), roi, ijg_tables("luma"))
    fine = requantize(blocks, np.full(shape, high, np.int32), roi, ijg_tables("luma"))
    # Per block (not per coefficient: rounding at a coarser step can land a value differently).
    assert np.count_nonzero(coarse) <= np.count_nonzero(fine) + np.count_nonzero(blocks) // 8 + 1


@given(weights=arrays(np.float32, st.integers(1, 50), elements=st.floats(0, 1, width=32)),
       roi=st.integers(2, 100), bg=st.integers(1, 100))
def test_block_qualities_span_bg_to_roi(weights, roi, bg):
    bg = min(bg, roi)
    qualities = block_qualities(weights, roi, bg)
    assert qualities.min() >= bg and qualities.max() <= roi
    assert np.all(qualities[weights == 1.0] == roi)
    assert np.all(qualities[weights == 0.0] == bg)
    assert np.all(np.diff(qualities[np.argsort(weights, kind="stable")]) >= 0)  # monotone in importance


def test_block_qualities_are_continuous_enough():
    """Importance 0..1 in steps gives one level per quality step: far more than 4 levels."""
    levels = np.unique(block_qualities(np.linspace(0, 1, 101), 90, 30))
    assert len(levels) == 61


@given(height=st.integers(1, 40), width=st.integers(1, 40), block=st.sampled_from([8, 16]), seed=st.integers(0, 99))
def test_block_max_is_the_maximum_of_each_cell(height, width, block, seed):
    values = np.random.default_rng(seed).random((height, width), dtype=np.float32)
    rows, cols = -(-height // block), -(-width // block)
    result = block_max(values, block, rows, cols)
    for r in range(rows):
        for c in range(cols):
            assert result[r, c] == values[r * block : (r + 1) * block, c * block : (c + 1) * block].max()
