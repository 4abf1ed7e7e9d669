"""The Python API: ``segpress.compress`` and the ``CompressResult`` it returns."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

import segpress
from segpress import InputError, OptionError, SegpressError, codecs
from segpress.codecs import jpegli
from segpress.inspection import inspect_file
from segpress.metrics import psnr
from segpress.policy import Policy
from segpress.taxonomy import CLASSES

HEIGHT, WIDTH = 128, 192


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    return np.ascontiguousarray(skdata.chelsea()[40 : 40 + HEIGHT, 100 : 100 + WIDTH])


@pytest.fixture(scope="session")
def region() -> np.ndarray:
    """About 8 % of the picture, as a bool array."""
    importance = np.zeros((HEIGHT, WIDTH), dtype=bool)
    importance[30:70, 60:108] = True
    return importance


def decode(blob: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(blob))
    image.load()
    return image


def strict_dumps(values: dict) -> str:
    return json.dumps(values, allow_nan=False)


def test_compress_an_array_with_an_importance_array(photo, region):
    before = photo.copy()
    result = segpress.compress(photo, importance=region)
    assert isinstance(result, segpress.CompressResult)
    image = decode(result.data)
    assert image.format == "JPEG" and image.size == (WIDTH, HEIGHT) and image.mode == "RGB"
    assert (result.width, result.height, result.format, result.source) == (WIDTH, HEIGHT, "jpeg", "array")
    assert result.size == len(result.data)
    assert result.bpp == pytest.approx(8 * result.size / (WIDTH * HEIGHT))
    assert result.important_fraction == pytest.approx(region.mean())
    assert result.psnr_inside > result.psnr_outside
    assert result.uniform_size > result.size and result.uniform_reached
    assert 0 < result.saving < 1
    assert result.saving == pytest.approx(1 - result.size / result.uniform_size)
    summary = result.summary()
    assert "data" not in summary
    assert json.loads(strict_dumps(summary))["saving"] == pytest.approx(result.saving)
    assert summary["size"] == result.size
    np.testing.assert_array_equal(photo, before)  # the caller's array is not touched


@pytest.mark.skipif(not jpegli.available(), reason="pyjpegli (the jpegli extra) is not installed")
def test_compare_reports_the_saving_against_uniform_libjpeg_turbo_too(photo, region):
    """With jpegli underneath, the saving is against uniform jpegli and, beside it, plain libjpeg-turbo."""
    result = segpress.compress(photo, importance=region)
    assert "jpegli" in result.uniform_reference
    (other,) = result.baselines.values()
    turbo = segpress.compress(photo, importance=region, format="jpeg-turbo")
    assert list(result.baselines) == ["libjpeg-turbo"] and list(turbo.baselines) == ["jpegli"]
    assert other["size"] == pytest.approx(turbo.uniform_size, rel=0.05)  # same encoder, another PSNR inside
    assert other["saving"] == pytest.approx(1 - result.size / other["size"]) and other["reached"]
    assert other["size"] > result.uniform_size  # uniform jpegli is the stronger reference
    assert json.loads(strict_dumps(result.summary()))["baselines"]["libjpeg-turbo"]["saving"] == pytest.approx(
        other["saving"])


def test_compare_false_reports_no_saving(photo, region):
    result = segpress.compress(photo, importance=region, compare=False)
    assert result.saving is None and result.uniform_size is None and result.baselines == {}
    assert result.fallback is None  # the check needs the comparison's uniform search
    assert strict_dumps(result.summary())


# --- the fallback to the uniform file -------------------------------------------------------------


@pytest.mark.parametrize("name", codecs.names())
def test_fallback_writes_the_uniform_file_when_the_adaptive_one_is_not_smaller(photo, codec, name):
    """Importance 0.5 everywhere codes the whole picture between the qualities: never better than uniform."""
    half = np.full(photo.shape[:2], 0.5, np.float32)
    result = segpress.compress(photo, importance=half, format=name)
    kept = segpress.compress(photo, importance=half, format=name, fallback=False)
    assert result.fallback is True and kept.fallback is None
    assert (result.adaptive_size, result.adaptive_psnr_inside) == (kept.size, kept.psnr_inside)
    assert kept.saving < 0 <= result.saving  # the adaptive file lost; the uniform one is its own reference
    assert result.saving == 0 and result.roi_quality == result.bg_quality == result.uniform_quality
    assert result.psnr_inside >= kept.psnr_inside  # at least the adaptive file's quality inside
    assert result.data == codec.encode_uniform(photo, int(result.roi_quality), codecs.EncodeSettings())
    assert "uniform" in result.notes[-1] and "--no-fallback" in result.notes[-1]
    assert strict_dumps(result.summary())


def test_no_fallback_when_the_adaptive_file_is_smaller(photo, region):
    result = segpress.compress(photo, importance=region)
    assert result.fallback is False and result.adaptive_size is None and result.saving > 0


@pytest.mark.parametrize("seed", range(6))
def test_at_defaults_no_uniform_file_with_the_same_psnr_inside_is_smaller(photo, seed):
    """Blobs at random levels, some of them badly suited to region coding: the file handed out is never
    bigger than the smallest uniform file that reaches its PSNR inside."""
    rng = np.random.default_rng(seed)
    values = np.zeros(photo.shape[:2], np.float32)
    for _ in range(rng.integers(1, 6)):
        top, left = rng.integers(0, HEIGHT - 8), rng.integers(0, WIDTH - 8)
        values[top : top + rng.integers(8, HEIGHT), left : left + rng.integers(8, WIDTH)] = rng.uniform(0.3, 1)
    name = ["jpeg", "webp", "avif"][seed % 3]
    result = segpress.compress(photo, importance=values, format=name)
    if result.saving is not None and result.saving < 0:
        # Only between two whole qualities: the uniform file that reaches the PSNR inside is bigger.
        assert not result.fallback
        reaching = codecs.get(name).encode_uniform(photo, math.ceil(result.uniform_quality), codecs.EncodeSettings())
        assert len(reaching) > result.size


def test_fallback_under_a_size_target_keeps_the_budget(photo):
    half = np.full(photo.shape[:2], 0.5, np.float32)
    result = segpress.compress(photo, importance=half, target_size=3000)
    kept = segpress.compress(photo, importance=half, target_size=3000, fallback=False)
    assert result.fallback is True and result.size <= 3000
    assert result.psnr_inside > kept.psnr_inside == result.adaptive_psnr_inside
    assert result.rate_reached == (result.size >= 0.97 * 3000) and (result.rate_note is None) == result.rate_reached


def test_fallback_file_keeps_the_map(photo, tmp_path):
    half = np.full(photo.shape[:2], 0.5, np.float32)
    result = segpress.compress(photo, importance=half, keep_map=True)
    assert result.fallback is True
    path = tmp_path / "fallback.jpg"
    path.write_bytes(result.data)
    assert inspect_file(path).map is not None


@pytest.mark.parametrize("importance", ["none", "all"])
def test_summary_is_strict_json_when_a_region_is_empty(photo, importance):
    """PSNR over an empty region is NaN: summary() gives None, since NaN is not JSON."""
    values = np.zeros((HEIGHT, WIDTH), np.float32) if importance == "none" else np.ones((HEIGHT, WIDTH), np.float32)
    result = segpress.compress(photo, importance=values, compare=False)
    summary = json.loads(strict_dumps(result.summary()))
    empty = "psnr_inside" if importance == "none" else "psnr_outside"
    assert np.isnan(getattr(result, empty)) and summary[empty] is None


def test_every_image_source_gives_the_same_file(tmp_path, photo, region):
    """A path, the file's bytes, a PIL image and the array itself; a mask file or an array."""
    path = tmp_path / "photo.png"
    Image.fromarray(photo).save(path)
    mask_path = tmp_path / "mask.png"
    Image.fromarray(region.astype(np.uint8) * 255).save(mask_path)
    reference = segpress.compress(photo, importance=region, compare=False).data
    for source in (path, str(path), path.read_bytes(), Image.open(path)):
        assert segpress.compress(source, mask=mask_path, compare=False).data == reference
    assert segpress.compress(path, mask=region.astype(np.float32), compare=False).data == reference


def test_grey_array_gives_a_grey_jpeg(photo, region):
    grey = np.asarray(Image.fromarray(photo).convert("L"))
    result = segpress.compress(grey, importance=region, compare=False)
    assert decode(result.data).mode == "L"


def test_labels_with_a_policy(photo):
    labels = np.full((HEIGHT, WIDTH), CLASSES.index("sky"), dtype=np.uint8)
    labels[:32, :32] = CLASSES.index("person")
    labels[64:, 96:] = CLASSES.index("animal")
    fraction = {}
    for policy in ("people", "default", Policy("animals", {"animal": 1.0})):
        result = segpress.compress(photo, labels=labels, policy=policy, compare=False)
        assert result.source == "labels"
        fraction[getattr(policy, "name", policy)] = result.important_fraction
    assert fraction["people"] == pytest.approx(32 * 32 / (HEIGHT * WIDTH))  # animal weighs 0.3 < 0.5
    assert fraction["default"] == pytest.approx((32 * 32 + 64 * 96) / (HEIGHT * WIDTH))
    assert fraction["animals"] == pytest.approx(64 * 96 / (HEIGHT * WIDTH))


def test_keep_map_can_be_inspected(tmp_path, photo, region):
    result = segpress.compress(photo, importance=region, keep_map=True, roi_quality=80, bg_quality=30,
                               compare=False)
    path = tmp_path / "kept.jpg"
    path.write_bytes(result.data)
    report = inspect_file(path)
    assert report.map is not None
    assert report.map.info["roi_quality"] == 80 and report.map.info["bg_quality"] == 30
    assert report.map.info["source"] == "array"
    # Downscaled so the longer side is at most 128 px, aspect kept.
    scale = min(1.0, 128 / max(HEIGHT, WIDTH))
    assert report.map.importance.shape == (round(HEIGHT * scale), round(WIDTH * scale))
    assert decode(report.map_png()).mode == "L"
    plain = segpress.compress(photo, importance=region, compare=False)
    assert plain.size < result.size  # the map costs bytes, and only when asked for


@pytest.mark.parametrize("name", ["jxl"])
def test_jxl(photo, region, codec):
    import imagecodecs

    result = segpress.compress(photo, importance=region, format="jxl")
    assert result.format == "jxl"
    assert codecs.sniff(result.data).name == "jxl"
    assert imagecodecs.jpegxl_decode(result.data).shape == (HEIGHT, WIDTH, 3)
    assert result.saving > 0


def test_importance_sources_one_and_only_one(photo, region):
    with pytest.raises(OptionError, match="importance and mask"):
        segpress.compress(photo, importance=region, mask=region)
    with pytest.raises(OptionError, match="mask and labels"):
        segpress.compress(photo, mask=region, labels=region.astype(np.uint8))
    # No source at all: the shipped segmentation model decides.
    assert segpress.compress(photo, compare=False).source.startswith("model:")


def test_a_segmentation_made_before_is_used_as_it_is(photo, region):
    segmentation = segpress.segment(photo)
    again = segpress.compress(photo, segmentation=segmentation, compare=False)
    assert again.data == segpress.compress(photo, compare=False).data
    assert again.source == f"model:{segmentation.model}" and again.segment_seconds == segmentation.seconds
    with pytest.raises(OptionError, match="for a 192x128 image, not 96x128"):
        segpress.compress(photo[:, :96], segmentation=segmentation)
    with pytest.raises(OptionError, match="segmentation is used only without an importance source; mask"):
        segpress.compress(photo, mask=region, segmentation=segmentation)
    with pytest.raises(OptionError, match="a segmenter or a segmentation"):
        segpress.compress(photo, segmenter=segpress.segmenters.default_segmenter(), segmentation=segmentation)


def test_images_read_from_bytes_are_named_as_the_caller_says(photo, region):
    with pytest.raises(InputError, match="^upload.jpg: not an image"):
        segpress.api.load_image(b"definitely not an image", name="upload.jpg")
    with pytest.raises(InputError, match="^<bytes>: not an image"):
        segpress.api.load_image(b"definitely not an image")
    assert segpress.api.load_image(photo, name="cat").name == "cat"


def test_importance_of_the_wrong_size(photo, region):
    with pytest.raises(OptionError, match=f"{WIDTH - 8}x{HEIGHT}.*{WIDTH}x{HEIGHT}"):
        segpress.compress(photo, importance=region[:, 8:])
    with pytest.raises(InputError, match=f"{WIDTH}x{HEIGHT}"):
        segpress.compress(photo, mask=region[8:])
    with pytest.raises(InputError, match="2-D"):
        segpress.compress(photo, importance=np.zeros((HEIGHT, WIDTH, 3), np.float32))
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        segpress.compress(photo, importance=np.full((HEIGHT, WIDTH), 1.5, np.float32))


@pytest.mark.parametrize(
    "options, message",
    [
        ({"roi_quality": 0}, "1..100"),
        ({"roi_quality": 101}, "1..100"),
        ({"bg_quality": 90}, "above roi quality"),
        ({"subsampling": "4:1:1"}, "subsampling"),
        ({"format": "png"}, "unknown format"),
        ({"policy": "nope"}, "unknown policy"),
    ],
)
def test_bad_options(photo, region, options, message):
    with pytest.raises(OptionError, match=message):
        segpress.compress(photo, importance=region, **options)


def test_bad_images(photo, region):
    with pytest.raises(InputError, match="no pixels"):
        segpress.compress(np.zeros((0, 16, 3), np.uint8), importance=np.zeros((0, 16), bool))
    with pytest.raises(InputError, match="max-pixels"):
        segpress.compress(photo, importance=region, max_pixels=1000)
    with pytest.raises(InputError, match="not an image"):
        segpress.compress(b"definitely not an image", importance=region)
    with pytest.raises(SegpressError):
        segpress.compress(photo.astype(np.int64), importance=region)


# --- rate control ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", codecs.names())
def test_target_size(photo, region, name, codec):
    default = segpress.compress(photo, importance=region, format=name, compare=False).size
    target = int(0.75 * default)
    result = segpress.compress(photo, importance=region, format=name, target_size=target)
    assert result.size <= target and result.format == name
    assert (result.target, result.target_kind) == (target, "size")
    assert 1 <= result.rate_encodes <= 8
    assert result.rate_reached is (result.size >= 0.97 * target)
    assert (result.rate_note is None) is result.rate_reached
    assert 1 <= result.bg_quality <= result.roi_quality <= 100
    # The figures are those of the file handed back, and the saving is measured at its settings.
    decoded = codec.decode(result.data)
    assert result.psnr_inside == pytest.approx(psnr(photo, decoded, region))
    assert result.uniform_size is not None and result.saving is not None
    summary = json.loads(strict_dumps(result.summary()))
    assert summary["rate_encodes"] == result.rate_encodes and summary["target"] == target


def test_target_size_text_and_fractional_qualities(photo, region):
    result = segpress.compress(photo, importance=region, format="webp", target_size="3.5KB", compare=False)
    assert result.target == 3500 and result.size <= 3500
    assert isinstance(result.roi_quality, float | int) and isinstance(result.bg_quality, float | int)
    assert json.loads(strict_dumps(result.summary()))["bg_quality"] == result.bg_quality


@pytest.mark.parametrize("name", ["jpeg", "webp", "avif"])
def test_target_roi_psnr(photo, region, name, codec):
    result = segpress.compress(photo, importance=region, format=name, target_roi_psnr=36.0)
    assert result.psnr_inside >= 36.0 and result.rate_reached
    assert (result.target, result.target_kind) == (36.0, "roi_psnr")
    assert result.bg_quality == 25 and result.rate_encodes <= 8


def test_no_target_leaves_the_rate_fields_empty(photo, region):
    summary = segpress.compress(photo, importance=region, compare=False).summary()
    assert all(summary[key] is None for key in ("target", "target_kind", "rate_encodes", "rate_reached", "rate_note"))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"target_size": "40KB", "target_roi_psnr": 35.0}, "one target"),
        ({"target_size": "forty"}, "cannot read size"),
        ({"target_size": 0}, "at least 1 byte"),
        ({"target_roi_psnr": float("nan")}, "positive"),
        ({"target_roi_psnr": -1.0}, "positive"),
        ({"target_roi_psnr": "35"}, "number of dB"),
    ],
)
def test_bad_targets_are_refused_before_the_image_is_read(options, message):
    with pytest.raises(OptionError, match=message):
        segpress.compress(b"not an image at all", importance=np.ones((2, 2)), **options)


@pytest.mark.parametrize("name", ["jpeg", "webp"])
def test_unreachable_targets_are_option_errors(photo, region, name):
    with pytest.raises(OptionError, match="below the smallest file"):
        segpress.compress(photo, importance=region, format=name, target_size=50)
    with pytest.raises(OptionError, match="above what this image reaches"):
        segpress.compress(photo, importance=region, format=name, target_roi_psnr=80.0)
    with pytest.raises(OptionError, match="important region"):
        segpress.compress(photo, importance=np.zeros_like(region), format=name, target_roi_psnr=35.0)


@pytest.mark.parametrize("name", ["jpeg", "webp"])
def test_keep_map_with_a_target_records_the_chosen_qualities(tmp_path, photo, region, name):
    codec = codecs.get(name)
    default = segpress.compress(photo, importance=region, format=name, keep_map=True, compare=False).size
    target = int(0.8 * default)
    result = segpress.compress(photo, importance=region, format=name, keep_map=True, target_size=target,
                               compare=False)
    assert result.size <= target
    info = codec.read_map(result.data).info
    assert info["target"] == f"{target} B"
    assert (info["roi_quality"], info["bg_quality"]) == (result.roi_quality, result.bg_quality)


def test_grey_webp_is_measured_as_grey(photo, region):
    grey = np.asarray(Image.fromarray(photo).convert("L"))
    result = segpress.compress(grey, importance=region, format="webp", target_size="2KB")
    assert result.size <= 2000 and result.psnr_inside > result.psnr_outside


@pytest.mark.parametrize(("adaptive", "interpolated", "reaching", "falls_back"), [
    (1712, 1713.8, 1680, True),   # sizes not monotone in the quality (JPEG XL at a few KB, MSRC bench)
    (1700, 1690.0, 1750, False),  # within one quality step: above the interpolation, below every real file
    (1800, 1700.0, 1750, True),
    (1600, 1700.0, 1750, False),
])
def test_the_fallback_is_judged_by_the_real_uniform_file(adaptive, interpolated, reaching, falls_back):
    """The ground rule is about files: fall back exactly when the uniform file that reaches the PSNR is not larger."""
    from segpress.uniform import UniformMatch, fallback_file

    match = UniformMatch(size=interpolated, quality=70.06, encodes=1, reached=True, data=b"u" * reaching,
                         data_quality=71, data_psnr=33.6)
    chosen = fallback_file(codecs.get("jpeg"), np.zeros((8, 8, 3), np.uint8), np.ones((8, 8), bool), adaptive,
                           33.5, match, None, None, None)
    assert (chosen == (match.data, 71)) if falls_back else chosen is None
