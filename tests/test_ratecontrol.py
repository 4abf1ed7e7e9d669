"""Rate control: a byte budget or a PSNR inside the region, for every codec, in at most 8 encodes."""

import math

import numpy as np
import pytest

from segpress import codecs
from segpress.codecs import EncodeSettings, Metadata
from segpress.errors import OptionError
from segpress.metrics import psnr
from segpress.ratecontrol import (
    MAX_ENCODES,
    PSNR_TOLERANCE,
    SIZE_TOLERANCE,
    decode_like,
    fit_roi_psnr,
    fit_size,
    format_size,
    parse_size,
)
from segpress.uniform import fit_uniform_size, match_uniform

SETTINGS = EncodeSettings(85, 25)


@pytest.fixture(scope="module")
def photo(coffee):
    """A 320x384 crop of a real photo with an important rectangle (about 15 % of it)."""
    pixels = np.ascontiguousarray(coffee[:320, 100:484])
    importance = np.zeros(pixels.shape[:2], np.float32)
    importance[64:160, 96:288] = 1.0
    return pixels, importance, importance > 0.5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("40000", 40_000), (40_000, 40_000), ("40KB", 40_000), ("40kB", 40_000), ("40 kb", 40_000),
        ("40k", 40_000), ("1.5MB", 1_500_000), ("1.5 mb", 1_500_000), ("40KiB", 40_960), ("2MiB", 2_097_152),
        ("0.5KB", 500), ("123B", 123), (" 7 KB ", 7000), (".5MB", 500_000),
    ],
)
def test_parse_size(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "KB", "abc", "40XB", "-5", "0", "0KB", "1.5.3", "40 K B", "1e3", True])
def test_parse_size_refuses(text):
    with pytest.raises(OptionError, match="size"):
        parse_size(text)


def test_format_size():
    assert [format_size(n) for n in (900, 3400, 52_400, 1_520_000)] == ["900 B", "3.4 KB", "52 KB", "1.52 MB"]


def check_size(result, target: int, pixels, region, codec, tolerance: float = SIZE_TOLERANCE) -> None:
    assert result.size == len(result.data) <= target
    assert result.encodes <= MAX_ENCODES
    assert result.size >= (1 - tolerance) * target, (result.size, target, result.note)
    assert result.reached == (result.size >= (1 - SIZE_TOLERANCE) * target)
    decoded = decode_like(codec, result.data, pixels)
    assert psnr(pixels, decoded, region) == pytest.approx(result.psnr_inside)
    assert 1 <= result.bg_quality <= result.roi_quality <= 100


@pytest.mark.parametrize("name", codecs.names())
def test_fit_size_is_never_over_and_within_3_percent(name, codec, photo):
    pixels, importance, region = photo
    default = len(codec.encode(pixels, importance, SETTINGS))
    for factor in (0.65, 1.6):
        target = int(default * factor)
        result = fit_size(codec, pixels, importance, region, target, SETTINGS)
        # The JPEG XL transcode moves in whole JPEG qualities and can run out of encodes a little short
        # (README: 43 of 44 budgets within 3 %). On this crop, at 1.6x, roi 96 / bg 30 would land 1.4 %
        # under, but the search stops at bg 29 (3.5 % under) after bg 31 came out 0.4 % over.
        check_size(result, target, pixels, region, codec, tolerance=0.05 if name == "jxl" else SIZE_TOLERANCE)
        if factor > 1:
            assert result.roi_quality > SETTINGS.roi_quality  # the region gets the room first
            assert result.bg_quality >= SETTINGS.bg_quality


@pytest.mark.parametrize("name", ["jpeg", "webp"])
def test_background_gives_way_first(name, codec, photo):
    pixels, importance, region = photo
    default = len(codec.encode(pixels, importance, SETTINGS))
    lowest_background = len(codec.encode(pixels, importance, EncodeSettings(85, 1)))
    target = (default + lowest_background) // 2
    result = fit_size(codec, pixels, importance, region, target, SETTINGS)
    check_size(result, target, pixels, region, codec)
    assert result.roi_quality == 85 and 1 <= result.bg_quality < 25


def test_fit_size_never_over_across_targets(photo):
    codec = codecs.get("webp")
    pixels, importance, region = photo
    for target in (2500, 4000, 9000, 17000, 30000, 60000):
        result = fit_size(codec, pixels, importance, region, target, SETTINGS)
        assert result.size <= target and result.encodes <= MAX_ENCODES


@pytest.mark.parametrize("name", ["jpeg", "webp", "j2k"])
def test_impossible_size_is_a_clear_error(name, photo):
    pixels, importance, region = photo
    with pytest.raises(OptionError, match=r"^100 B is below the smallest file this image can make at the lowest "
                                          r"qualities \(\d[\d.]* K?B\)$"):
        fit_size(codecs.get(name), pixels, importance, region, 100, SETTINGS)


@pytest.mark.parametrize("name", codecs.names())
def test_fit_roi_psnr_finds_the_smallest_file_that_reaches_it(name, codec, photo):
    pixels, importance, region = photo
    # On this crop libjxl's PSNR inside wobbles by +-0.2 dB between qualities 26 and 40 (its uniform
    # encodes too): no search converges on 33 dB there, so JPEG XL from pixels aims a little higher.
    low = 34.0 if name == "jxl-pixels" else 33.0
    for target in (low, 38.0):
        result = fit_roi_psnr(codec, pixels, importance, region, target, SETTINGS)
        assert result.encodes <= MAX_ENCODES and result.reached, result.note
        assert target <= result.psnr_inside
        if codec.roi_quality_step == 0:
            assert result.psnr_inside <= target + PSNR_TOLERANCE
        else:  # one whole quality lower misses the target, or is no smaller (AVIF: same quantiser)
            lower = EncodeSettings(result.roi_quality - 1, min(SETTINGS.bg_quality, result.roi_quality - 1))
            data = codec.encode(pixels, importance, lower)
            assert psnr(pixels, decode_like(codec, data, pixels), region) < target or len(data) >= result.size
        assert result.bg_quality == min(SETTINGS.bg_quality, result.roi_quality)


def test_fit_roi_psnr_beats_the_uniform_file(photo):
    codec = codecs.get("avif")
    pixels, importance, region = photo
    result = fit_roi_psnr(codec, pixels, importance, region, 36.0, SETTINGS)
    uniform = match_uniform(codec, pixels, region, result.psnr_inside, SETTINGS)
    assert result.size < 0.8 * uniform.size


def test_impossible_psnr_and_empty_region(photo):
    pixels, importance, region = photo
    with pytest.raises(OptionError, match=r"^70 dB inside the important region is above what this image reaches at "
                                          r"quality 100 \(\d+\.\d\d dB\)$"):
        fit_roi_psnr(codecs.get("webp"), pixels, importance, region, 70.0, SETTINGS)
    with pytest.raises(OptionError, match="needs an important region"):
        fit_roi_psnr(codecs.get("jpeg"), pixels, importance, np.zeros_like(region), 35.0, SETTINGS)


def test_uniform_match_of_a_grey_webp(photo):
    pixels, _, region = photo
    grey = np.ascontiguousarray(pixels[..., 0])
    match = match_uniform(codecs.get("webp"), grey, region, 36.0, SETTINGS)
    assert match.reached and match.size > 0


@pytest.mark.parametrize("start", [None, 1, 100])
def test_fit_uniform_size_is_the_highest_quality_within_the_budget(photo, start):
    codec = codecs.get("jpeg")
    pixels, _, region = photo
    target = len(codec.encode_uniform(pixels, 60, SETTINGS)) + 50
    fit = fit_uniform_size(codec, pixels, region, target, SETTINGS, start=start)
    assert fit.quality == 60 and len(fit.data) <= target
    assert fit.psnr_inside == pytest.approx(psnr(pixels, decode_like(codec, fit.data, pixels), region))
    assert fit_uniform_size(codec, pixels, region, 10, SETTINGS) is None  # below quality 1


def test_uniform_match_keeps_the_smallest_file_that_reaches(photo):
    codec = codecs.get("jpeg")
    pixels, _, region = photo
    match = match_uniform(codec, pixels, region, 36.0, SETTINGS)
    assert match.data_quality == math.ceil(match.quality) and match.data_psnr >= 36.0
    assert match.data == codec.encode_uniform(pixels, match.data_quality, SETTINGS)
    assert match_uniform(codec, pixels, region, 1000.0, SETTINGS).data is None  # quality 100 does not reach


@pytest.mark.parametrize("grey", [False, True])
def test_uniform_drafts_decode_to_the_real_files_pixels(photo, grey):
    """JPEG's drafts (no lossless passes) decode exactly as its real uniform files, for every uniform encoder,
    so a match searched on them equals one searched on real files."""
    codec = codecs.get("jpeg")
    pixels, _, region = photo
    pixels = np.ascontiguousarray(pixels[..., 0]) if grey else pixels
    encoders = {None: codec.encode_uniform, **codec.uniform_baselines(pixels, SETTINGS)}
    drafts = codec.uniform_drafts(pixels, SETTINGS)
    assert set(drafts) == set(encoders)
    for name, encode in encoders.items():
        for quality in (30, 85, 97):
            real, draft = encode(pixels, quality, SETTINGS, Metadata()), drafts[name](pixels, quality, SETTINGS, Metadata())
            assert len(draft) != len(real)  # not the progressive file
            np.testing.assert_array_equal(codec.decode(draft), codec.decode(real))
        searched = match_uniform(codec, pixels, region, 36.0, SETTINGS, Metadata(), encode, drafts[name])
        assert searched == match_uniform(codec, pixels, region, 36.0, SETTINGS, Metadata(), encode)
