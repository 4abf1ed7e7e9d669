"""Reading images, masks and label maps, and writing outputs: segpress.imageio."""

from __future__ import annotations

import io
import os
import stat
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import imagecodecs
import numpy as np
import pytest
from PIL import Image, ImageCms, ImageFile

from segpress import imageio
from segpress.errors import InputError, OptionError, OutputError
from segpress.imageio import (
    atomic_write,
    load_image,
    load_labels,
    load_mask,
    output_path,
)

ORIENTATION = 0x0112


def encode(img: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **options)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def blank_bilevel_png(width: int, height: int) -> bytes:
    """A black 1-bit PNG built row by row: tiny on disk whatever its declared size."""
    compressor = zlib.compressobj(9)
    row = bytes(1 + (width + 7) // 8)  # filter byte + packed pixels
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", body) + png_chunk(b"IEND", b"")
    )


def gradient(height: int = 24, width: int = 32) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width]
    return np.dstack([x * 255 // (width - 1), y * 255 // (height - 1), (x + y) % 256]).astype(np.uint8)


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def assert_one_line(error: pytest.ExceptionInfo, name: str) -> None:
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(name)


# --- orientation and metadata ---------------------------------------------------------------------


def test_exif_orientation_is_applied_and_reset(tmp_path):
    stored = np.zeros((40, 80, 3), np.uint8)
    stored[:20, :40] = (255, 0, 0)  # red top-left quadrant
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # display rotated 90 degrees clockwise
    exif[0x010F] = "TestCam"
    path = write(tmp_path / "photo.jpg", encode(Image.fromarray(stored), "JPEG", quality=95, exif=exif))

    loaded = load_image(path)

    assert (loaded.width, loaded.height) == (40, 80)
    expected = np.rot90(stored, k=-1)
    assert np.abs(loaded.pixels.astype(int) - expected).mean() < 3
    assert loaded.exif.startswith(b"Exif\x00\x00")
    kept = Image.Exif()
    kept.load(loaded.exif)
    assert kept[ORIENTATION] == 1
    assert kept[0x010F] == "TestCam"
    assert any("orientation" in note for note in loaded.notes)


@pytest.mark.parametrize("compression", [None, "tiff_lzw"])
def test_tiff_orientation_is_applied_once(compression):
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    stored = gradient()
    loaded = load_image(encode(Image.fromarray(stored), "TIFF", exif=exif, compression=compression))
    np.testing.assert_array_equal(loaded.pixels, np.rot90(stored, k=-1))
    assert loaded.notes == ["EXIF orientation 6 applied"]


def test_exif_without_orientation_is_kept_verbatim(tmp_path):
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    raw = exif.tobytes()
    loaded = load_image(encode(Image.fromarray(gradient()), "JPEG", exif=raw))
    assert loaded.exif == raw
    assert loaded.notes == []


def test_malformed_exif_is_dropped_not_fatal():
    data = encode(Image.fromarray(gradient()), "PNG", exif=b"Exif\x00\x00not a tiff block")
    loaded = load_image(data)
    assert loaded.exif is None
    assert loaded.pixels.shape == (24, 32, 3)
    assert any("EXIF" in note for note in loaded.notes)


def test_icc_profile_is_kept(tmp_path):
    profile = srgb_profile()
    for fmt in ("PNG", "JPEG"):
        loaded = load_image(encode(Image.fromarray(gradient()), fmt, icc_profile=profile))
        assert loaded.icc_profile == profile
    assert load_image(encode(Image.fromarray(gradient()), "PNG")).icc_profile is None


def test_pil_image_input_is_not_modified():
    exif = Image.Exif()
    exif[ORIENTATION] = 8
    img = Image.open(io.BytesIO(encode(Image.fromarray(gradient()), "PNG", exif=exif)))
    loaded = load_image(img)
    assert loaded.pixels.shape == (32, 24, 3)
    assert img.size == (32, 24)
    assert img.getexif()[ORIENTATION] == 8


# --- pixel modes ----------------------------------------------------------------------------------


def test_rgb_png_is_exact_and_contiguous(tmp_path):
    pixels = gradient()
    loaded = load_image(write(tmp_path / "rgb.png", encode(Image.fromarray(pixels), "PNG")))
    assert loaded.pixels.dtype == np.uint8
    assert loaded.pixels.flags.c_contiguous
    np.testing.assert_array_equal(loaded.pixels, pixels)
    assert not loaded.is_grey
    assert loaded.name == str(tmp_path / "rgb.png")
    assert loaded.notes == []


def test_grey_stays_grey():
    grey = gradient()[..., 0]
    loaded = load_image(encode(Image.fromarray(grey), "PNG"))
    assert loaded.is_grey
    np.testing.assert_array_equal(loaded.pixels, grey)


def test_bilevel_becomes_grey_0_255():
    bits = np.zeros((8, 16), bool)
    bits[:, 8:] = True
    loaded = load_image(encode(Image.fromarray(bits), "PNG"))
    assert loaded.is_grey
    np.testing.assert_array_equal(loaded.pixels, bits * np.uint8(255))


def palette_image() -> Image.Image:
    img = Image.new("P", (4, 2))
    img.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255] + [0] * (3 * 253))
    img.putdata([0, 1, 2, 0, 1, 2, 0, 1])
    return img


def test_palette_becomes_rgb():
    loaded = load_image(encode(palette_image(), "PNG"))
    assert loaded.pixels.shape == (2, 4, 3)
    assert loaded.pixels[0, :3].tolist() == [[255, 0, 0], [0, 255, 0], [0, 0, 255]]
    assert loaded.notes == []


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_transparency_is_flattened_onto_white(fmt):
    loaded = load_image(encode(palette_image(), fmt, transparency=1))
    assert loaded.pixels[0, :3].tolist() == [[255, 0, 0], [255, 255, 255], [0, 0, 255]]
    assert "alpha flattened onto white" in loaded.notes


def test_rgba_is_composited_onto_white():
    rgba = np.zeros((1, 3, 4), np.uint8)
    rgba[0] = [(0, 0, 0, 0), (0, 0, 0, 255), (0, 0, 0, 128)]
    loaded = load_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert loaded.pixels[0].tolist() == [[255, 255, 255], [0, 0, 0], [127, 127, 127]]
    assert "alpha flattened onto white" in loaded.notes


def test_opaque_alpha_is_dropped_without_a_note():
    rgba = np.dstack([gradient(), np.full((24, 32), 255, np.uint8)])
    loaded = load_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    np.testing.assert_array_equal(loaded.pixels, gradient())
    assert loaded.notes == []


def test_grey_with_alpha_stays_grey():
    la = np.array([[[100, 0], [100, 255]]], np.uint8)
    loaded = load_image(encode(Image.fromarray(la, "LA"), "PNG"))
    assert loaded.is_grey
    assert loaded.pixels.tolist() == [[255, 100]]


def test_16bit_grey_png_is_reduced():
    values = np.array([[0, 10 * 257, 65535, 32896, 128]], np.uint16)
    loaded = load_image(imagecodecs.png_encode(values))
    assert loaded.pixels.tolist() == [[0, 10, 255, 128, 0]]
    assert "16-bit reduced to 8-bit" in loaded.notes


def test_16bit_rgb_png_is_reduced():
    rgb16 = gradient().astype(np.uint16) * 257
    loaded = load_image(imagecodecs.png_encode(rgb16))
    np.testing.assert_array_equal(loaded.pixels, gradient())
    assert "16-bit reduced to 8-bit" in loaded.notes


def test_16bit_grey_alpha_png_stays_grey():
    la16 = np.zeros((2, 3, 2), np.uint16)
    la16[..., 0] = 50 * 257
    la16[..., 1] = 65535
    loaded = load_image(imagecodecs.png_encode(la16))
    assert loaded.is_grey
    assert (loaded.pixels == 50).all()


def test_32bit_tiffs():
    ints = np.array([[0, 65535, 257]], np.int32)
    assert load_image(imagecodecs.tiff_encode(ints)).pixels.tolist() == [[0, 255, 1]]
    floats = np.array([[0.0, 1.0, 0.5]], np.float32)
    assert load_image(imagecodecs.tiff_encode(floats)).pixels.tolist() == [[0, 255, 128]]
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        load_image(imagecodecs.tiff_encode(floats * 4))
    with pytest.raises(InputError, match="65535"):
        load_image(imagecodecs.tiff_encode(ints * 2))


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_becomes_rgb_and_drops_icc(fmt):
    cmyk = Image.new("CMYK", (8, 4), (0, 255, 255, 0))  # red
    loaded = load_image(encode(cmyk, fmt, icc_profile=b"pretend CMYK profile"))
    assert loaded.pixels.shape == (4, 8, 3)
    assert np.abs(loaded.pixels.astype(int) - (255, 0, 0)).max() < 8
    assert loaded.icc_profile is None
    assert any(note.startswith("CMYK converted to RGB") and "ICC" in note for note in loaded.notes)


@pytest.mark.parametrize("mode", ["YCbCr", "LAB", "HSV"])
def test_other_colour_models_become_rgb(mode):
    white = {"LAB": (255, 128, 128), "HSV": (0, 0, 255), "YCbCr": (255, 128, 128)}[mode]
    loaded = load_image(Image.new(mode, (4, 2), white))
    assert loaded.pixels.shape == (2, 4, 3)
    assert loaded.pixels.min() >= 250
    assert loaded.notes == [f"{mode} converted to RGB"]


def test_animated_gif_uses_first_frame():
    frames = [Image.new("RGB", (4, 4), colour) for colour in ("red", "blue")]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    loaded = load_image(data)
    assert tuple(loaded.pixels[0, 0]) == (255, 0, 0)
    assert "only the first frame is used" in loaded.notes


# --- numpy input ----------------------------------------------------------------------------------


def test_uint8_arrays_are_copied_and_made_contiguous():
    pixels = gradient()
    flipped = pixels[:, ::-1]
    loaded = load_image(flipped)
    assert loaded.name == "<array>"
    assert loaded.pixels.flags.c_contiguous
    np.testing.assert_array_equal(loaded.pixels, flipped)
    loaded.pixels[:] = 0
    assert pixels.any()
    assert load_image(pixels[..., 0]).is_grey


def test_uint16_float_and_rgba_arrays():
    assert load_image(np.array([[0, 65535, 257]], np.uint16)).pixels.tolist() == [[0, 255, 1]]
    assert load_image(np.array([[0.0, 0.5, 1.0]])).pixels.tolist() == [[0, 128, 255]]
    rgba = np.zeros((1, 1, 4), np.uint8)
    assert load_image(rgba).pixels.tolist() == [[[255, 255, 255]]]


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((4, 4), np.int64),
        np.zeros((4, 4), bool),
        np.zeros((4, 4, 2), np.uint8),
        np.zeros((2, 4, 4, 3), np.uint8),
        np.zeros((4, 4), np.float32) + 1.5,
        np.full((4, 4), np.nan),
        np.zeros((0, 4, 3), np.uint8),
    ],
    ids=["int64", "bool", "two-channels", "4-d", "float-range", "nan", "zero-size"],
)
def test_bad_arrays_are_refused(array):
    with pytest.raises(InputError) as error:
        load_image(array)
    assert_one_line(error, "<array>")


# --- bad files ------------------------------------------------------------------------------------


def test_truncated_jpeg(tmp_path, astronaut):
    data = encode(Image.fromarray(astronaut), "JPEG", quality=90)
    path = write(tmp_path / "cut.jpg", data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated or corrupt") as error:
        load_image(path)
    assert_one_line(error, str(path))
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_truncated_png(tmp_path):
    data = encode(Image.fromarray(np.random.default_rng(1).integers(0, 255, (64, 64, 3), np.uint8)), "PNG")
    with pytest.raises(InputError, match="truncated or corrupt"):
        load_image(write(tmp_path / "cut.png", data[: len(data) // 2]))


@pytest.mark.parametrize(
    "content, message",
    [
        (np.random.default_rng(0).bytes(4096), "not an image"),
        (b"", "empty"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "not an image"),
        (blank_bilevel_png(0, 5), "not an image"),
    ],
    ids=["random", "empty", "eps", "zero-width-png"],
)
def test_unusable_files(tmp_path, content, message):
    path = write(tmp_path / "bad.img", content)
    with pytest.raises(InputError, match=message) as error:
        load_image(path)
    assert_one_line(error, str(path))
    with pytest.raises(InputError, match=message):
        load_image(content)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file") as error:
        load_image(tmp_path / "nope.jpg")
    assert_one_line(error, str(tmp_path / "nope.jpg"))
    with pytest.raises(InputError, match="is a directory"):
        load_image(tmp_path)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path):
    path = write(tmp_path / "secret.png", encode(Image.fromarray(gradient()), "PNG"))
    path.chmod(0)
    with pytest.raises(InputError, match="permission denied"):
        load_image(path)


def test_permission_denied(monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(imageio.decoding, "open", refuse, raising=False)  # shadows the builtin in that module
    with pytest.raises(InputError, match="permission denied") as error:
        load_image("locked.png")
    assert_one_line(error, "locked.png")


def test_zero_size_pil_image():
    with pytest.raises(InputError, match="no pixels"):
        load_image(Image.new("RGB", (0, 5)))


# --- decompression bombs --------------------------------------------------------------------------


def test_bomb_is_refused_before_decoding(tmp_path):
    path = write(tmp_path / "bomb.png", blank_bilevel_png(20_000, 20_000))
    assert path.stat().st_size < 200_000
    with pytest.raises(InputError) as error:
        load_image(path, max_pixels=10_000_000)
    assert_one_line(error, str(path))
    assert "400,000,000 pixels" in str(error.value)
    assert "10,000,000" in str(error.value)
    assert "--max-pixels" in str(error.value)
    with pytest.raises(InputError, match="--max-pixels"):
        load_image(path)  # beyond Pillow's own hard limit too: still our message


def test_raised_limit_overrides_pillows_global_limit(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)  # Pillow alone would refuse 12 MP
    data = blank_bilevel_png(4000, 3000)
    with pytest.raises(InputError, match="12,000,000 pixels"):
        load_image(data, max_pixels=10_000_000)
    loaded = load_image(data, max_pixels=20_000_000)
    assert (loaded.width, loaded.height) == (4000, 3000)
    assert Image.MAX_IMAGE_PIXELS == 1_000_000


def test_limit_applies_to_arrays():
    with pytest.raises(InputError, match="--max-pixels"):
        load_image(np.zeros((10, 10), np.uint8), max_pixels=99)


def test_a_loaded_image_is_taken_as_it_is_within_the_limit():
    loaded = load_image(np.zeros((10, 12, 3), np.uint8))
    assert load_image(loaded) is loaded
    with pytest.raises(InputError, match="over the limit of 99"):
        load_image(loaded, max_pixels=99)


def test_concurrent_loads_restore_pillows_limit():
    data = encode(Image.fromarray(gradient(256, 256)), "PNG")
    before = Image.MAX_IMAGE_PIXELS
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: load_image(data).pixels.shape, range(32)))
    assert results == [(256, 256, 3)] * 32
    assert Image.MAX_IMAGE_PIXELS == before


# --- masks ----------------------------------------------------------------------------------------


def test_bilevel_and_grey_masks(tmp_path):
    bits = np.zeros((6, 8), bool)
    bits[2:4] = True
    mask = load_mask(encode(Image.fromarray(bits), "PNG"), size=(6, 8))
    assert mask.dtype == np.float32
    np.testing.assert_array_equal(mask, bits.astype(np.float32))

    grey = np.array([[0, 51, 255]], np.uint8)
    path = write(tmp_path / "mask.png", encode(Image.fromarray(grey), "PNG"))
    np.testing.assert_allclose(load_mask(path, size=(1, 3)), [[0, 0.2, 1]], rtol=1e-6)


def test_alpha_masks():
    rgba = np.zeros((1, 3, 4), np.uint8)
    rgba[0, :, 3] = [0, 255, 51]
    mask = load_mask(encode(Image.fromarray(rgba, "RGBA"), "PNG"), size=(1, 3))
    np.testing.assert_allclose(mask, [[0, 1, 0.2]], rtol=1e-6)
    la = np.array([[[0, 255], [0, 0]]], np.uint8)
    np.testing.assert_array_equal(load_mask(encode(Image.fromarray(la, "LA"), "PNG"), size=(1, 2)), [[1, 0]])


def test_opaque_rgba_and_rgb_masks_use_luminance():
    rgba = np.zeros((1, 2, 4), np.uint8)
    rgba[0, 1] = (255, 255, 255, 255)
    rgba[..., 3] = 255
    np.testing.assert_allclose(load_mask(Image.fromarray(rgba, "RGBA"), size=(1, 2)), [[0, 1]], atol=1e-6)
    red = np.zeros((1, 1, 3), np.uint8)
    red[..., 0] = 255
    mask = load_mask(encode(Image.fromarray(red), "PNG"), size=(1, 1))
    np.testing.assert_allclose(mask, [[0.299]], rtol=1e-6)


def test_16bit_and_array_masks():
    values = np.array([[0, 65535]], np.uint16)
    np.testing.assert_array_equal(load_mask(imagecodecs.png_encode(values), size=(1, 2)), [[0, 1]])
    np.testing.assert_array_equal(load_mask(values, size=(1, 2)), [[0, 1]])
    np.testing.assert_array_equal(load_mask(np.array([[True, False]]), size=(1, 2)), [[1, 0]])
    np.testing.assert_array_equal(load_mask(np.array([[0.25, 1.0]]), size=(1, 2)), [[0.25, 1]])
    with pytest.raises(InputError, match="2-D"):
        load_mask(np.zeros((1, 2, 3), np.uint8), size=(1, 2))
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        load_mask(np.array([[2.0, 0.0]]), size=(1, 2))


def test_mask_orientation_is_applied():
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    mask = load_mask(encode(Image.new("L", (8, 4)), "PNG", exif=exif), size=(8, 4))
    assert mask.shape == (8, 4)


def test_mask_of_the_wrong_size(tmp_path):
    path = write(tmp_path / "mask.png", encode(Image.new("L", (100, 80)), "PNG"))
    with pytest.raises(InputError) as error:
        load_mask(path, size=(480, 640))
    assert str(error.value).startswith(f"{path} is 100x80 but the image is 640x480")
    assert_one_line(error, str(path))


def test_bad_mask_files(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_mask(tmp_path / "missing.png", size=(1, 1))
    with pytest.raises(InputError, match="empty"):
        load_mask(write(tmp_path / "empty.png", b""), size=(1, 1))


# --- label maps -----------------------------------------------------------------------------------


def test_palette_label_map_gives_indices():
    labels = palette_image()
    result = load_labels(encode(labels, "PNG"), size=(2, 4), classes=15)
    assert result.tolist() == [[0, 1, 2, 0], [1, 2, 0, 1]]


def test_label_values_and_kinds():
    grey = np.array([[0, 14, 255]], np.uint8)
    labels = load_labels(encode(Image.fromarray(grey), "PNG"), size=(1, 3), classes=15)
    assert labels.tolist() == [[0, 14, 255]]
    with pytest.raises(InputError, match="label 15 is not a class index"):
        load_labels(np.array([[0, 15]], np.uint8), size=(1, 2), classes=15)
    with pytest.raises(InputError, match="one class index per pixel"):
        load_labels(encode(Image.fromarray(gradient()), "PNG"), size=(24, 32), classes=15)
    with pytest.raises(InputError, match="2-D integers"):
        load_labels(np.zeros((1, 2)), size=(1, 2), classes=15)
    with pytest.raises(InputError, match="is 2x1 but the image is 3x1"):
        load_labels(np.zeros((1, 2), np.uint8), size=(1, 3), classes=15)


# --- atomic_write ---------------------------------------------------------------------------------


def test_atomic_write_creates_parents_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out" / "deep" / "result.jpg"
    atomic_write(target, b"hello")
    assert target.read_bytes() == b"hello"
    assert os.listdir(target.parent) == ["result.jpg"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~imageio.writing._UMASK


def test_atomic_write_refuses_existing_file_without_overwrite(tmp_path):
    target = write(tmp_path / "out.jpg", b"old")
    with pytest.raises(OptionError, match="exists; pass --overwrite to replace it") as error:
        atomic_write(target, b"new")
    assert_one_line(error, str(target))
    assert target.read_bytes() == b"old"
    atomic_write(target, b"new", overwrite=True)
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["out.jpg"]


def test_atomic_write_never_overwrites_an_input(tmp_path, monkeypatch):
    source = write(tmp_path / "in.jpg", b"precious")
    link = tmp_path / "alias.jpg"
    link.symlink_to(source)
    monkeypatch.chdir(tmp_path)
    for target in (source, Path("in.jpg"), link):
        with pytest.raises(OptionError, match="input"):
            atomic_write(target, b"junk", overwrite=True, protect=[str(source)])
    assert source.read_bytes() == b"precious"


def test_atomic_write_failure_cleans_up(tmp_path, monkeypatch):
    target = write(tmp_path / "out.jpg", b"old")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OutputError, match="No space left on device") as error:
        atomic_write(target, b"new", overwrite=True)
    assert_one_line(error, str(target))
    assert os.listdir(tmp_path) == ["out.jpg"]
    assert target.read_bytes() == b"old"

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", lambda fd: None)
    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "other.jpg", b"new")
    assert os.listdir(tmp_path) == ["out.jpg"]


def test_atomic_write_onto_a_directory(tmp_path):
    with pytest.raises(OutputError, match="is a directory"):
        atomic_write(tmp_path, b"data", overwrite=True)


def test_atomic_write_where_a_parent_is_a_file(tmp_path):
    blocker = write(tmp_path / "file", b"")
    with pytest.raises(OutputError, match="cannot write"):
        atomic_write(blocker / "out.jpg", b"data")


# --- output_path ----------------------------------------------------------------------------------


def test_output_path(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    photo = Path("shots/photo.png")
    assert output_path(photo, folder, ".jpg", many=False) == folder / "photo.jpg"
    assert output_path(photo, tmp_path / "new", "jxl", many=True) == tmp_path / "new" / "photo.jxl"
    assert output_path(photo, f"{tmp_path}/later/", ".jpg", many=False) == tmp_path / "later" / "photo.jpg"
    assert output_path(photo, tmp_path / "small.jpg", ".jpg", many=False) == tmp_path / "small.jpg"
    assert output_path(photo, tmp_path / "small", ".jpg", many=False) == tmp_path / "small"
