"""WebP, AVIF, JPEG 2000 and JPEG XL (pixels): standard files, region-adaptive by conditioning."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from segpress import codecs
from segpress.codecs import EncodeSettings, Metadata
from segpress.codecs.j2k import target_psnr
from segpress.codecs.jxl_pixels import distance
from segpress.embedded import pack
from segpress.errors import CodecError, OptionError, SegpressError
from segpress.metrics import psnr
from segpress.ratecontrol import decode_like
from segpress.uniform import match_uniform

PIXEL_CODECS = ["webp", "avif", "j2k", "jxl-pixels"]
EXIF = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x0f\x00\x02\x00\x00\x00\x09\x00\x00\x00\x1a\x00\x00\x00\x00segpress\x00"


@pytest.fixture(scope="module")
def photo(coffee):
    """A 192x256 crop of a real photo, and a centre mask on it."""
    pixels = np.ascontiguousarray(coffee[40:232, 150:406])
    importance = np.zeros(pixels.shape[:2], np.float32)
    importance[48:128, 80:180] = 1.0
    return pixels, importance


@pytest.mark.parametrize("name", PIXEL_CODECS)
def test_encodes_and_decodes_a_real_photo(name, codec, photo):
    pixels, importance = photo
    region = importance > 0.5
    data = codec.encode(pixels, importance, EncodeSettings(85, 25))
    assert codec.check(data) and not codecs.get("jpeg").check(data)
    decoded = codec.decode(data)
    assert decoded.shape == pixels.shape and decoded.dtype == np.uint8
    assert psnr(pixels, decoded, region) > 30
    assert codecs.sniff(data).decode(data).shape == pixels.shape  # .jxl files sniff as the jxl codec
    assert codec.version()


def test_codecs_are_picked_by_name_and_extension():
    assert codecs.for_path("out.webp") is codecs.get("webp")
    assert codecs.for_path("OUT.AVIF") is codecs.get("avif")
    assert codecs.for_path("a/b.jp2") is codecs.for_path("b.j2k") is codecs.get("j2k")
    # .jxl stays the lossless JPEG transcode; the pixel mode is chosen by name only.
    assert codecs.for_path("x.jxl") is codecs.get("jxl")
    assert codecs.get("JXL-Pixels").name == "jxl-pixels" and ".jxl" in codecs.get("jxl-pixels").extensions
    assert set(codecs.names()) >= {"jpeg", "jxl", *PIXEL_CODECS}


@pytest.mark.parametrize("name", PIXEL_CODECS)
def test_adaptive_is_smaller_at_the_same_psnr_inside(name, codec, photo):
    pixels, importance = photo
    region = importance > 0.5
    settings = EncodeSettings(85, 25)
    data = codec.encode(pixels, importance, settings)
    inside = psnr(pixels, codec.decode(data), region)
    uniform = match_uniform(codec, pixels, region, inside, settings)
    assert uniform.reached
    assert len(data) < 0.85 * uniform.size, (len(data), uniform.size)
    # Outside, the background is smoothed, not destroyed.
    assert psnr(pixels, codec.decode(data), ~region) > 24


@pytest.mark.parametrize("name", PIXEL_CODECS)
def test_all_important_or_no_gap_gives_the_uniform_file(name, codec, photo):
    pixels, importance = photo
    uniform = codec.encode_uniform(pixels, 70, EncodeSettings(70, 25))
    assert codec.encode(pixels, np.ones_like(importance), EncodeSettings(70, 25)) == uniform
    assert codec.encode(pixels, importance, EncodeSettings(70, 70)) == uniform


@pytest.mark.parametrize("name", ["webp", "avif"])
def test_icc_exif_and_map_travel_in_the_container(name, codec, photo):
    pixels, importance = photo
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    metadata = Metadata(icc_profile=icc, exif=EXIF, map_payload=pack(importance, {"format": name}))
    data = codec.encode(pixels, importance, EncodeSettings(85, 25), metadata)
    with Image.open(io.BytesIO(data)) as image:
        assert image.info.get("icc_profile") == icc
        assert image.getexif().get(0x010F) == "segpress"
    embedded = codec.read_map(data)
    height, width = importance.shape
    scale = min(1.0, 128 / max(height, width))  # the embedded map is at most 128 px on its longer side
    assert embedded.info == {"format": name}
    assert embedded.importance.shape == (round(height * scale), round(width * scale))
    assert codec.read_map(codec.encode_uniform(pixels, 85, EncodeSettings())) is None


@pytest.mark.parametrize("name", ["j2k", "jxl-pixels"])
def test_metadata_is_dropped_where_the_writer_has_no_place_for_it(name, codec, photo):
    pixels, importance = photo
    metadata = Metadata(exif=EXIF, map_payload=pack(importance, {}))
    data = codec.encode(pixels, importance, EncodeSettings(85, 25), metadata)
    assert codec.read_map(data) is None
    assert codec.decode(data).shape == pixels.shape


@pytest.mark.parametrize("name", PIXEL_CODECS)
def test_grey_pictures(name, codec, photo):
    pixels, importance = photo
    grey = np.ascontiguousarray(pixels[..., 1])
    data = codec.encode(grey, importance, EncodeSettings(85, 25))
    decoded = decode_like(codec, data, grey)
    assert decoded.shape == grey.shape
    assert psnr(grey, decoded, importance > 0.5) > 30


def test_fractional_qualities_and_quality_mappings(photo):
    pixels, _ = photo
    webp = codecs.get("webp")
    sizes = [len(webp.encode_uniform(pixels, q, EncodeSettings())) for q in (80.0, 82.5, 85.0)]
    assert sizes == sorted(sizes)
    assert distance(90) == pytest.approx(1.0) and distance(100) == 0 and distance(20) > distance(29.9) > 2.8
    assert target_psnr(50) == pytest.approx(31.5) and target_psnr(85) == pytest.approx(35.68, abs=0.01)
    assert codecs.get("jxl-pixels").roi_quality_step == 0 and codecs.get("avif").roi_quality_step == 1


@pytest.mark.parametrize("name", PIXEL_CODECS)
def test_tiny_images_encode(name, codec, photo):
    pixels = np.ascontiguousarray(photo[0][:5, :7])
    data = codec.encode(pixels, np.zeros((5, 7), np.float32), EncodeSettings(85, 25))
    assert codec.decode(data).shape == (5, 7, 3)


@pytest.mark.parametrize("name", codecs.names())
def test_a_library_failure_is_a_codec_error(name, codec):
    with pytest.raises(CodecError, match=f"^{name} decode failed: ") as raised:
        codec.decode(b"\xff\xd8\xff not a picture at all")
    assert isinstance(raised.value, SegpressError) and raised.value.__cause__ is not None  # the library's own


def test_missing_library_is_reported_not_raised(monkeypatch):
    from segpress.codecs import webp

    monkeypatch.setattr(webp.features, "check", lambda feature: False)
    assert "webp" in codecs.names() and "webp" not in codecs.available_names()
    with pytest.raises(OptionError, match="format 'webp' needs a codec library that is not installed"):
        codecs.get("webp")


def test_avif_is_feature_tested_through_pillows_public_api(monkeypatch):
    """No import of Pillow's private _avif: a Pillow without AVIF (or one that cannot write it) reads as
    'not available' from features.check and a test encode."""
    from segpress.codecs import avif

    assert "PIL._avif" not in Path(avif.__file__).read_text() and "import _avif" not in Path(avif.__file__).read_text()
    try:
        avif._can_encode.cache_clear()
        monkeypatch.setattr(avif.features, "check", lambda name: False)
        assert not avif.AvifCodec().available
        monkeypatch.undo()
        avif._can_encode.cache_clear()

        def refuse(*args, **kwargs):
            raise KeyError("AVIF")  # Pillow's save() for a format it has no writer for

        monkeypatch.setattr(avif, "pillow_save", refuse)
        assert not avif.AvifCodec().available
    finally:
        monkeypatch.undo()
        avif._can_encode.cache_clear()
