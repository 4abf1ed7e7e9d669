"""Work done in strips to bound peak memory gives what the whole-picture work gives.

The strip sizes are module constants; the tests shrink them so that small pictures take many strips.
Peak memory itself is measured by ``benchmarks/memory.py``, not here.
"""

import numpy as np
import pytest
from PIL import Image

from segpress import api, imageio, metrics
from segpress.codecs import jpeg_quant
from segpress.segmenters import base
from segpress.segmenters.base import Segmentation, count_values, resize_bilinear
from segpress.taxonomy import CLASSES


def test_psnr_in_strips_is_the_whole_formula(monkeypatch):
    rng = np.random.default_rng(0)
    reference = rng.integers(0, 256, (97, 61, 3), dtype=np.uint8)
    decoded = np.clip(reference.astype(int) + rng.integers(-9, 10, reference.shape), 0, 255).astype(np.uint8)
    mask = rng.random((97, 61)) < 0.3
    difference = reference.astype(np.float64) - decoded
    expected_all = 10 * np.log10(255**2 / np.mean(difference**2))
    expected_mask = 10 * np.log10(255**2 / np.mean(difference[mask] ** 2))
    monkeypatch.setattr(metrics, "_STRIP_VALUES", 500)
    assert metrics.psnr(reference, decoded) == pytest.approx(expected_all, abs=1e-9)
    assert metrics.psnr(reference, decoded, mask) == pytest.approx(expected_mask, abs=1e-9)
    assert np.isnan(metrics.psnr(reference, decoded, np.zeros_like(mask)))
    assert metrics.psnr(reference, reference, mask) == float("inf")


def test_requantize_in_strips_is_exact(monkeypatch):
    rng = np.random.default_rng(1)
    blocks = rng.integers(-200, 200, (23, 17, 8, 8)).astype(np.int16)
    qualities = rng.integers(5, 90, (23, 17)).astype(np.int32)
    whole = jpeg_quant.requantize(blocks, qualities, 85, jpeg_quant.ijg_tables("luma"))
    monkeypatch.setattr(jpeg_quant, "_STRIP_COEFFICIENTS", 3 * 17 * 64)
    assert np.array_equal(jpeg_quant.requantize(blocks, qualities, 85, jpeg_quant.ijg_tables("luma")), whole)


def test_upsampling_and_labels_in_strips_match_the_whole(monkeypatch):
    """Pillow's filter weights for a box of rows are computed in floats: equal to float32 rounding."""
    rng = np.random.default_rng(2)
    working = rng.random((len(CLASSES), 12, 16)).astype(np.float32)
    working /= working.sum(axis=0)
    segmentation = Segmentation(working, 95, 131, model="test")
    whole_map = resize_bilinear(working[3], 95, 131)
    whole_stack = resize_bilinear(working, 95, 131)
    monkeypatch.setattr(base, "_STRIP_VALUES", 131 * 7)
    monkeypatch.setattr(base, "_STRIP_ROWS", 5)
    assert np.abs(segmentation.upsample(working[3]) - whole_map).max() < 1e-6
    assert np.abs(segmentation.upsample(working) - whole_stack).max() < 1e-6
    ordered = np.sort(whole_stack, axis=0)
    clear = ordered[-1] - ordered[-2] > 1e-5  # no near-tie between the two likeliest classes
    assert np.array_equal(segmentation.labels[clear], whole_stack.argmax(axis=0)[clear])


def test_count_values_is_bincount():
    values = np.random.default_rng(3).integers(0, 300, (1500, 1000)).astype(np.int32)
    assert np.array_equal(count_values(values, minlength=17), np.bincount(values.ravel(), minlength=17))
    assert np.array_equal(count_values(np.zeros((0,), np.uint8), minlength=4), np.zeros(4))


@pytest.mark.parametrize("mode", ["RGB", "L", "P", "1", "RGBX"])
def test_pillow_pixels_in_strips(monkeypatch, astronaut, mode):
    image = Image.fromarray(astronaut[:77, :53]).convert(mode)
    target = "L" if mode in ("L", "1") else "RGB"
    monkeypatch.setattr(imageio.pixels, "_STRIP_PIXELS", 53 * 5)
    assert np.array_equal(imageio.pillow_pixels(image, target), np.asarray(image.convert(target)))


def test_a_float32_importance_array_is_not_changed_by_shaping(astronaut):
    importance = np.zeros(astronaut.shape[:2], np.float32)
    importance[100:300, 100:300] = 1
    importance[5:7, 5:7] = 1  # a speck min_area removes from the map the codec sees
    given = importance.copy()
    chosen = api.build_importance(imageio.load_image(astronaut), importance=importance, margin=4, feather=8,
                                  min_area=64)
    assert np.array_equal(importance, given)
    assert chosen.values[6, 6] == 0 and chosen.region[6, 6]
