"""Background conditioning: important pixels untouched, strength continuous and monotonic, bytes follow."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from segpress import codecs, conditioning
from segpress.codecs import EncodeSettings
from segpress.conditioning import Conditioning, condition, strength
from segpress.errors import OptionError

PIXEL_CODECS = ["webp", "avif", "j2k", "jxl-pixels"]


@st.composite
def importance_maps(draw, height: int, width: int):
    """Float maps in [0, 1] with plenty of exact 0s and 1s, and feathered values between."""
    levels = st.sampled_from([0.0, 1.0, 1.0, 0.5, 0.999, 0.001]) | st.floats(0, 1, width=32)
    return draw(arrays(np.float32, (height, width), elements=levels))


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    height=st.integers(1, 40),
    width=st.integers(1, 40),
    grey=st.booleans(),
    method=st.sampled_from(conditioning.METHODS),
    bg_quality=st.floats(1, 84),
)
def test_important_pixels_are_bit_identical(data, height, width, grey, method, bg_quality):
    shape = (height, width) if grey else (height, width, 3)
    pixels = data.draw(arrays(np.uint8, shape))
    importance = data.draw(importance_maps(height, width))
    out = condition(pixels, importance, strength(85, bg_quality, method))
    assert out.shape == pixels.shape and out.dtype == np.uint8
    kept = importance == 1.0
    assert np.array_equal(out[kept], pixels[kept])


def test_background_gets_the_full_smoothing_and_feathering_blends(astronaut):
    pixels = astronaut[:96, :128]
    amount = strength(85, 10)
    smoothed = conditioning.smooth(pixels, amount)
    assert np.array_equal(condition(pixels, np.zeros(pixels.shape[:2], np.float32), amount), smoothed)
    half = condition(pixels, np.full(pixels.shape[:2], 0.5, np.float32), amount).astype(int)
    expected = (pixels.astype(int) * 128 + smoothed.astype(int) * 127 + 127) // 255
    assert np.abs(half - expected).max() <= 1


def test_strength_is_continuous_monotonic_and_vanishes_at_the_roi_quality():
    for method in conditioning.METHODS:
        assert strength(85, 85, method).is_identity and strength(60, 90, method).is_identity
        previous = (0.0, 0.0)
        for bg in np.linspace(84.99, 1, 400):
            current = strength(85, float(bg), method)
            assert (current.variance, current.sigma) >= previous
            assert current.variance >= previous[0] and current.sigma >= previous[1] - 1e-12
            previous = (current.variance, current.sigma)
        close = strength(85, 30.0, method), strength(85, 30.01, method)
        assert abs(close[0].variance - close[1].variance) < 1e-3 and abs(close[0].sigma - close[1].sigma) < 1e-2
    # The defaults are documented: variance 0.03 x excess (scale 1), excess 1 at bg 25 with roi 100.
    assert strength(100, 25).variance == pytest.approx(conditioning.FLATTEN_VARIANCE_AT_25)
    assert strength(85, 1).sigma == pytest.approx(3.6)


@pytest.mark.parametrize("name", PIXEL_CODECS)
def test_more_smoothing_gives_fewer_bytes(name, codec, coffee, centre_mask):
    pixels = coffee[:128, 160:352]
    importance = centre_mask(pixels.shape)
    sizes = [len(codec.encode(pixels, importance, EncodeSettings(80, bg))) for bg in (80, 50, 25, 10, 1)]
    assert sizes == sorted(sizes, reverse=True) and len(set(sizes)) == len(sizes), sizes


def test_flatten_removes_texture_and_keeps_edges():
    rng = np.random.default_rng(1)
    step = np.where(np.arange(64) < 32, 60, 190).astype(np.float64)
    clean = np.tile(step, (64, 1))
    noisy = np.clip(clean + rng.normal(0, 6, clean.shape), 0, 255).astype(np.uint8)
    flat = conditioning.flatten(noisy, strength(85, 25).variance).astype(np.float64)
    blurred = conditioning.gaussian(noisy, 3.0).astype(np.float64)
    inside = (slice(8, 56), slice(4, 24))
    assert flat[inside].std() < 0.6 * noisy[inside].std()  # texture gone
    # The edge stays sharp: between columns 31 and 32 the flattened image still makes most of the jump.
    jump = flat[8:56, 32].mean() - flat[8:56, 31].mean()
    assert jump > 0.5 * 130 and jump > 3 * (blurred[8:56, 32].mean() - blurred[8:56, 31].mean())


def test_tiny_and_grey_images(astronaut):
    for shape in [(1, 1, 3), (3, 2, 3), (5, 7), (2, 9)]:
        pixels = np.full(shape, 77, np.uint8)
        out = condition(pixels, np.zeros(shape[:2], np.float32), strength(85, 1))
        assert out.shape == shape
    grey = np.ascontiguousarray(astronaut[:64, :64, 1])
    assert condition(grey, np.zeros((64, 64), np.float32), strength(85, 25)).shape == (64, 64)


def test_bad_arguments():
    with pytest.raises(OptionError, match="unknown conditioning 'median'"):
        strength(85, 25, "median")
    with pytest.raises(OptionError, match="non-negative"):
        Conditioning(variance=-1)
    with pytest.raises(ValueError, match="importance is"):
        condition(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5), np.float32), strength(85, 25))
    with pytest.raises(ValueError, match="uint8"):
        condition(np.zeros((4, 4, 3), np.float32), np.zeros((4, 4), np.float32), strength(85, 25))


def test_flatten_blur_is_folded_into_its_coefficients(coffee):
    """At the lowest qualities flatten blurs its half-resolution coefficients: smoother, continuous in sigma."""
    pixels = np.ascontiguousarray(coffee[:96, :128])
    variance = strength(85, 1).variance
    plain = conditioning.flatten(pixels, variance).astype(np.float64)
    tiny = conditioning.flatten(pixels, variance, 0.01).astype(np.float64)
    blurred = conditioning.flatten(pixels, variance, 3.6).astype(np.float64)
    assert np.abs(tiny - plain).max() <= 1  # sigma -> 0 gives the unblurred filter back

    def roughness(image: np.ndarray) -> float:
        return float(np.abs(np.diff(image, axis=0)).mean() + np.abs(np.diff(image, axis=1)).mean())

    assert roughness(blurred) < 0.9 * roughness(plain)
    # smooth() takes that path for flatten; blur keeps a full-resolution Gaussian.
    assert np.array_equal(conditioning.smooth(pixels, strength(85, 1)), blurred.astype(np.uint8))
    assert np.array_equal(conditioning.smooth(pixels, Conditioning("blur", sigma=2.0)),
                          conditioning.gaussian(pixels, 2.0))


def test_sparsify_drops_small_coefficients_and_keeps_edges_and_means():
    """Texture below the threshold goes, a strong edge on the block grid stays, block means stay."""
    rng = np.random.default_rng(2)
    step = np.where(np.arange(64) < 32, 60, 190).astype(np.float64)
    clean = np.tile(step, (48, 1))
    noisy = np.clip(clean + rng.normal(0, 4, clean.shape), 0, 255).astype(np.uint8)
    out = conditioning.sparsify(noisy, 60.0, 16).astype(np.float64)
    assert np.abs(out - clean).mean() < 0.5 * np.abs(noisy - clean).mean()  # the noise is gone
    assert out[:, :32].max() < 100 and out[:, 32:].min() > 150  # the edge (on a block boundary) is kept
    def blocks(image: np.ndarray) -> np.ndarray:
        return image.reshape(3, 16, 4, 16).mean(axis=(1, 3))

    assert np.abs(blocks(out) - blocks(noisy.astype(np.float64))).max() < 0.6
    # A picture that is not a whole number of blocks, in colour: same shape, and a threshold above every
    # coefficient leaves the block means only (flat 16x16 blocks, up to the YCbCr round trip).
    colour = np.ascontiguousarray(rng.integers(0, 256, (37, 53, 3), dtype=np.uint8))
    flat = conditioning.sparsify(colour, 1e6, 16)
    assert flat.shape == colour.shape
    assert np.ptp(flat[:16, :16].astype(int), axis=(0, 1)).max() <= 2


def test_sparsify_strength_and_codecs():
    assert strength(85, 25, "sparsify", 4.0, 16).threshold == pytest.approx(40 * np.sqrt(4.0 * 0.9775))
    assert strength(85, 25, "sparsify", block=4).block == 4
    assert strength(85, 85, "sparsify").is_identity
    with pytest.raises(OptionError, match="blocks"):
        Conditioning("sparsify", threshold=10, block=5)
    # Each codec's method and block (the calibration lives in the codecs).
    methods = {name: (codecs.get(name).conditioning_method, codecs.get(name).conditioning_block)
               for name in PIXEL_CODECS}
    assert methods["avif"] == ("sparsify", 16) and methods["webp"] == ("sparsify", 4)
    assert methods["jxl-pixels"][0] == "blur" and methods["j2k"][0] == "flatten"


@pytest.mark.parametrize("method", conditioning.METHODS)
@pytest.mark.parametrize("bg_quality", [25, 2])
def test_a_large_picture_is_conditioned_in_strips_as_it_is_whole(astronaut, monkeypatch, method, bg_quality):
    """Strips (bounded memory) give what the whole picture gives: exactly for the
    block-local sparsify and the Gaussian blur, within a level for flatten's 2x-reduced statistics."""
    pixels = astronaut[:301, :200]
    importance = np.zeros(pixels.shape[:2], np.float32)
    importance[100:180, 50:150] = np.linspace(0, 1, 100, dtype=np.float32)
    amount = strength(85, bg_quality, method)
    whole = condition(pixels, importance, amount)
    monkeypatch.setattr(conditioning, "STRIP_PIXELS", 200 * 40)
    strips = condition(pixels, importance, amount)
    difference = np.abs(whole.astype(int) - strips.astype(int))
    assert difference.max() <= (1 if method == "flatten" else 0)
