"""JPEG XL by lossless transcoding of the region-adaptive JPEG."""

import numpy as np
import pytest

from segpress import codecs
from segpress.codecs import EncodeSettings, Metadata, jpegli
from segpress.codecs.jpeg import JpegCodec
from segpress.codecs.jxl import JpegXlCodec
from segpress.embedded import pack

JXL = codecs.get("jxl")
JPEG = codecs.get("jpeg")


def test_round_trip_gives_back_the_identical_jpeg(astronaut, centre_mask):
    importance = centre_mask(astronaut.shape)
    metadata = Metadata(exif=b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x00", map_payload=pack(importance, {"a": 1}))
    options = EncodeSettings(roi_quality=85, bg_quality=30)
    jpeg = JPEG.encode(astronaut, importance, EncodeSettings(85, 30, progressive=False), metadata)
    jxl = JXL.encode(astronaut, importance, options, metadata)
    assert JXL.check(jxl) and not JPEG.check(jxl)
    assert JpegXlCodec.to_jpeg(jxl) == jpeg
    assert len(jxl) < len(jpeg)
    assert JXL.read_map(jxl).info == {"a": 1}
    assert np.array_equal(JXL.decode(jxl).shape, astronaut.shape)


def test_native_jxl_has_no_map():
    import imagecodecs

    native = imagecodecs.jpegxl_encode(np.zeros((16, 16, 3), np.uint8))
    assert JXL.check(native)
    assert JXL.read_map(native) is None


def test_registry_finds_codecs_by_extension_and_magic(astronaut, centre_mask):
    assert codecs.for_path("out.JXL") is JXL
    assert codecs.for_path("a/b.jpeg") is JPEG
    assert codecs.for_path("x.png") is None
    assert codecs.sniff(JPEG.encode_uniform(astronaut, 50, EncodeSettings())) is JPEG
    assert set(codecs.names()) >= {"jpeg", "jxl"}


def test_unknown_format_is_a_clear_error():
    from segpress.errors import OptionError

    with pytest.raises(OptionError, match="unknown format 'gif'; choose one of: jpeg, jxl"):
        codecs.get("gif")


def test_saving_against_libjpeg_turbo_transcoded_too(astronaut, centre_mask):
    """With jpegli under the JPEG, the JPEG XL comparison also runs against libjpeg-turbo's JPEG, transcoded."""
    jxl = codecs.get("jxl")
    settings = EncodeSettings(progressive=True)
    baselines = jxl.uniform_baselines(astronaut, settings)
    if not jpegli.available():
        assert baselines == {}
        return
    (name, encode), = baselines.items()
    assert name == "libjpeg-turbo (transcoded)"
    data = encode(astronaut, 85, settings, Metadata())
    turbo = JpegCodec("libjpeg-turbo").encode_uniform(astronaut, 85, EncodeSettings(progressive=False), Metadata())
    assert jxl.check(data) and jxl.to_jpeg(data) == turbo
