"""The region-adaptive JPEG backend: exactness in the important region, standard decoders, metadata."""

import io

import imagecodecs
import jpeglib
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageCms

from segpress import codecs
from segpress.codecs import EncodeSettings, Metadata, jpegli
from segpress.codecs import jpeg_markers as markers
from segpress.codecs.jpeg import JpegCodec, core_for, pillow_encode, uniform_encode
from segpress.codecs.jpeg_quant import LUMINANCE_BASE, ijg_table, ijg_tables
from segpress.embedded import pack
from segpress.importance import block_max
from segpress.metrics import psnr

JPEG = codecs.get("jpeg")


def coefficients(data: bytes, tmp_path, name: str) -> jpeglib.DCTJPEG:
    path = tmp_path / name
    path.write_bytes(data)
    jpeg = jpeglib.read_dct(str(path))
    jpeg.load()
    return jpeg


def components(jpeg: jpeglib.DCTJPEG):
    return [c for c in (jpeg.Y, jpeg.Cb, jpeg.Cr) if c is not None]


@pytest.mark.parametrize("subsampling", ["4:2:0", "4:4:4"])
@pytest.mark.parametrize("image_name", ["astronaut", "coffee"])
def test_important_blocks_are_bit_exact_with_uniform_encode(image_name, subsampling, request, tmp_path, centre_mask):
    pixels = request.getfixturevalue(image_name)
    importance = centre_mask(pixels.shape)
    importance[:40, :40] = 0.5  # an intermediate level as well
    options = EncodeSettings(roi_quality=88, bg_quality=20, progressive=False, subsampling=subsampling)
    adaptive = coefficients(JPEG.encode(pixels, importance, options), tmp_path, "a.jpg")
    core = core_for(pixels, subsampling)
    uniform = coefficients(uniform_encode(pixels, 88, subsampling, core), tmp_path, "u.jpg")
    assert np.array_equal(adaptive.qt, uniform.qt)
    factor = 2 if subsampling == "4:2:0" else 1
    for index, (mine, reference) in enumerate(zip(components(adaptive), components(uniform))):
        block = 8 * (factor if index else 1)
        weight = block_max(importance, block, *mine.shape[:2])
        full = weight >= 1.0
        assert full.any() and (~full).any()
        assert np.array_equal(mine[full], reference[full])
        # Everything else was re-quantised more coarsely: fewer non-zero coefficients.
        assert np.count_nonzero(mine[~full]) < np.count_nonzero(reference[~full])


@given(seed=st.integers(0, 10_000), roi=st.integers(50, 95), bg=st.integers(5, 50))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_block_maps_keep_full_blocks_exact(seed, roi, bg, tmp_path, astronaut):
    """Property: whatever the map, blocks whose maximum importance is 1 hold the uniform coefficients."""
    rng = np.random.default_rng(seed)
    cells = rng.choice([0.0, 0.3, 0.7, 1.0], size=(8, 8)).astype(np.float32)
    pixels = astronaut[:128, :128]
    importance = np.kron(cells, np.ones((16, 16), np.float32))
    options = EncodeSettings(roi_quality=roi, bg_quality=min(bg, roi), progressive=False)
    adaptive = coefficients(JPEG.encode(pixels, importance, options), tmp_path, "a.jpg")
    uniform = coefficients(uniform_encode(pixels, roi, "4:2:0", core_for(pixels, "4:2:0")), tmp_path, "u.jpg")
    full = np.kron(cells == 1.0, np.ones((2, 2), bool))
    assert np.array_equal(adaptive.Y[full], uniform.Y[full])
    assert np.array_equal(adaptive.Cb[cells == 1.0], uniform.Cb[cells == 1.0])


def test_all_ones_map_equals_uniform_encode(astronaut, tmp_path):
    options = EncodeSettings(roi_quality=80, bg_quality=10, progressive=False)
    ones = np.ones(astronaut.shape[:2], np.float32)
    adaptive = JPEG.encode(astronaut, ones, options)
    uniform = JPEG.encode_uniform(astronaut, 80, options)
    # Same coefficients and tables; only header details (JFIF version, marker order) may differ.
    mine, reference = coefficients(adaptive, tmp_path, "a.jpg"), coefficients(uniform, tmp_path, "u.jpg")
    assert all(np.array_equal(a, b) for a, b in zip(components(mine), components(reference)))
    assert np.array_equal(JPEG.decode(adaptive), JPEG.decode(uniform))
    assert abs(len(adaptive) - len(uniform)) < 32


@pytest.mark.parametrize("progressive", [False, True])
def test_decodes_in_pillow_and_libjpeg_turbo(astronaut, centre_mask, progressive):
    data = JPEG.encode(astronaut, centre_mask(astronaut.shape), EncodeSettings(progressive=progressive))
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and image.size == (512, 512)
        assert bool(image.info.get("progressive")) == progressive
        pil = np.asarray(image.convert("RGB"))
    turbo = imagecodecs.jpeg8_decode(data)
    assert turbo.shape == (512, 512, 3)
    assert psnr(pil, turbo) > 40  # two decoders agree (IDCT and upsampling may differ by a level)
    assert psnr(astronaut, pil) > 25


def test_quality_follows_importance(astronaut, centre_mask):
    importance = centre_mask(astronaut.shape)
    region = importance >= 1
    adaptive = JPEG.decode(JPEG.encode(astronaut, importance, EncodeSettings(roi_quality=90, bg_quality=20)))
    uniform_roi = JPEG.decode(JPEG.encode_uniform(astronaut, 90, EncodeSettings()))
    assert psnr(astronaut, adaptive, region) == pytest.approx(psnr(astronaut, uniform_roi, region), abs=0.05)
    assert psnr(astronaut, adaptive, ~region) < psnr(astronaut, uniform_roi, ~region) - 3


def test_grey_image(astronaut, centre_mask):
    grey = np.ascontiguousarray(astronaut[..., 1])
    data = JPEG.encode(grey, centre_mask(grey.shape), EncodeSettings(roi_quality=90, bg_quality=30))
    decoded = JPEG.decode(data)
    assert decoded.shape == grey.shape
    assert psnr(grey, decoded) > 28


def test_progressive_pass_is_lossless_and_smaller(astronaut, centre_mask):
    importance = centre_mask(astronaut.shape)
    baseline = JPEG.encode(astronaut, importance, EncodeSettings(progressive=False))
    progressive = JPEG.encode(astronaut, importance, EncodeSettings(progressive=True))
    assert len(progressive) < len(baseline)
    assert np.array_equal(JPEG.decode(baseline), JPEG.decode(progressive))


def test_metadata_segments(astronaut, centre_mask):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "segpress-test-camera"  # Make
    importance = centre_mask(astronaut.shape)
    metadata = Metadata(icc_profile=icc, exif=exif.tobytes(), map_payload=pack(importance, {"source": "mask"}))
    data = JPEG.encode(astronaut, importance, EncodeSettings(), metadata)
    with Image.open(io.BytesIO(data)) as image:
        assert image.info["icc_profile"] == icc
        assert image.getexif()[0x010F] == "segpress-test-camera"
    embedded = JPEG.read_map(data)
    assert embedded.info == {"source": "mask"}
    assert embedded.importance.max() == 255 and embedded.importance.min() == 0
    plain = JPEG.encode(astronaut, importance, EncodeSettings())
    assert JPEG.read_map(plain) is None
    assert np.array_equal(JPEG.decode(plain), JPEG.decode(data))


def test_large_icc_profile_is_split_into_chunks():
    profile = bytes(range(256)) * 600  # 153,600 bytes: three APP2 segments
    segments = markers.icc_segments(profile)
    assert len(segments) == 3
    data = markers.insert_segments(pillow_encode(np.zeros((8, 8, 3), np.uint8), 90, "4:2:0", False), segments)
    with Image.open(io.BytesIO(data)) as image:
        assert image.info["icc_profile"] == profile


def test_insert_segments_replaces_instead_of_duplicating():
    base = pillow_encode(np.zeros((8, 8, 3), np.uint8), 90, "4:2:0", False)
    once = markers.insert_segments(base, markers.exif_segments(b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x00"))
    twice = markers.insert_segments(once, markers.exif_segments(b"MM\x00\x2a\x00\x00\x00\x08\x00\x00"))
    assert once == twice
    assert [m for m, _, _ in markers.iter_segments(twice)][:2] == [markers.APP0, markers.APP1]


def test_marker_walk_rejects_non_jpeg():
    with pytest.raises(markers.MarkerError):
        list(markers.iter_segments(b"\x89PNG\r\n"))


# --- the jpegli core ----------------------------------------------------------------------------------

needs_jpegli = pytest.mark.skipif(not jpegli.available(), reason="pyjpegli (the jpegli extra) is not installed")


@needs_jpegli
@pytest.mark.parametrize("quality", [10, 25, 60, 85, 97])
def test_jpegli_tables_depend_on_quality_only(astronaut, quality):
    """The per-quality tables read from a tiny encode are those jpegli writes for a real picture."""
    with Image.open(io.BytesIO(jpegli.encode(astronaut, quality))) as image:
        luma, chroma = (np.reshape(image.quantization[index], (8, 8)) for index in (0, 1))
    assert np.array_equal(jpegli.tables()["luma"][quality], luma)
    assert np.array_equal(jpegli.tables()["chroma"][quality], chroma)


@needs_jpegli
def test_jpegli_background_steps_match_libjpeg_low_frequencies():
    """Background quality q under jpegli is as coarse as libjpeg's q over the 3x3 lowest frequencies."""
    steps = jpegli.background_tables()["luma"]
    for quality in (10, 25, 50):
        assert steps[quality][:3, :3].mean() == pytest.approx(ijg_tables("luma")[quality][:3, :3].mean(), rel=1e-5)
    assert np.all(np.diff(steps[1:, :3, :3].mean(axis=(1, 2))) <= 1e-3)  # coarser as quality falls


@needs_jpegli
def test_jpegli_is_the_core_where_it_can_write_the_picture(astronaut, centre_mask):
    assert core_for(astronaut, "4:2:0") == "jpegli"
    assert core_for(astronaut, "4:4:4") == "libjpeg-turbo"
    assert core_for(np.ascontiguousarray(astronaut[..., 0]), "4:2:0") == "libjpeg-turbo"
    options = EncodeSettings(progressive=False)
    assert JPEG.notes(astronaut, options) == JPEG.notes(astronaut, EncodeSettings(subsampling="4:4:4")) == []
    # The uniform reference is jpegli's file with fitted Huffman tables; libjpeg-turbo is the second one.
    uniform = JPEG.encode_uniform(astronaut, 85, options)
    assert JPEG.decode(uniform).shape == astronaut.shape
    assert len(uniform) < len(jpegli.encode(astronaut, 85))
    baselines = JPEG.uniform_baselines(astronaut, options)
    assert list(baselines) == ["libjpeg-turbo"]
    turbo = baselines["libjpeg-turbo"](astronaut, 85, options, Metadata())
    assert turbo == JpegCodec("libjpeg-turbo").encode_uniform(astronaut, 85, options)


def test_without_jpegli_libjpeg_turbo_encodes_with_a_note(monkeypatch, astronaut, centre_mask, tmp_path):
    monkeypatch.setattr(jpegli, "pyjpegli", None)
    options = EncodeSettings(progressive=False)
    assert "jpegli is not installed" in JPEG.notes(astronaut, options)[0]
    data = JPEG.encode(astronaut, centre_mask(astronaut.shape), options)
    assert np.array_equal(coefficients(data, tmp_path, "a.jpg").qt[0], ijg_table(LUMINANCE_BASE, 85))
    assert JPEG.uniform_baselines(astronaut, options) == {}
    assert "libjpeg-turbo" in JPEG.uniform_reference and "jpegli" not in JPEG.uniform_reference
    assert "jpegli not installed" in JPEG.version()


def test_libjpeg_turbo_core_by_choice(astronaut, centre_mask, tmp_path):
    turbo = JpegCodec("libjpeg-turbo")
    options = EncodeSettings(progressive=False)
    data = turbo.encode(astronaut, centre_mask(astronaut.shape), options)
    assert np.array_equal(coefficients(data, tmp_path, "a.jpg").qt[0], ijg_table(LUMINANCE_BASE, 85))
    assert turbo.notes(astronaut, options) == []
    with pytest.raises(ValueError):
        JpegCodec("mozjpeg")
