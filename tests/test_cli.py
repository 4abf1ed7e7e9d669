"""The command line as a user runs it: ``segpress compress / inspect / formats``.

Most tests call ``segpress.cli.main(argv)`` in-process and read what it printed (capsys); one runs the
installed console script in a subprocess. Images are small crops of scikit-image photos or generated
pictures, written to tmp_path.
"""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps
from rich.console import Console
from skimage import data as skdata

from segpress import cli as cli_module
from segpress import codecs, embedded, imageio
from segpress.cli import main
from segpress.codecs import jpeg_markers, jpegli
from segpress.codecs.jpeg import JpegCodec
from segpress.errors import InputError
from segpress.taxonomy import CLASSES

HEIGHT, WIDTH = 192, 256
MAKE, ORIENTATION = 0x010F, 0x0112
JXL_MAGICS = (b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")


# --- helpers --------------------------------------------------------------------------------------


@dataclass
class Run:
    code: int
    out: str
    err: str


def cli(capsys: pytest.CaptureFixture[str], *argv: object) -> Run:
    capsys.readouterr()  # drop anything printed before
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return Run(code, captured.out, captured.err)


def assert_one_error(run: Run, *fragments: str) -> str:
    """Non-zero exit, exactly one stderr line starting with ``error:``, no traceback; returns the line."""
    assert run.code != 0, run
    lines = run.err.splitlines()
    assert len(lines) == 1, run.err
    assert lines[0].startswith("error: "), run.err
    assert "Traceback" not in run.err + run.out
    for fragment in fragments:
        assert fragment.lower() in lines[0].lower(), lines[0]
    return lines[0]


def json_objects(text: str) -> list[dict]:
    """The JSON objects printed one after another (each may span several lines)."""
    decoder, objects, position = json.JSONDecoder(), [], 0
    text = text.strip()
    while position < len(text):
        obj, position = decoder.raw_decode(text, position)
        objects.append(obj)
        while position < len(text) and text[position].isspace():
            position += 1
    return objects


def strict_json(text: str) -> list[dict]:
    """As ``json_objects`` but refusing NaN / Infinity, which are not JSON."""
    def refuse(constant: str) -> None:
        raise ValueError(f"not valid JSON: {constant}")

    return [json.loads(json.dumps(obj), parse_constant=refuse) for obj in json_objects(text)]


def tree(folder: Path) -> set[str]:
    """Every path under ``folder`` (hidden temporary files included), relative to it."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def save(path: Path, image: Image.Image | np.ndarray, fmt: str | None = None, **options) -> Path:
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, fmt, **options)
    return path


def rect_mask(top: int, left: int, bottom: int, right: int, shape=(HEIGHT, WIDTH)) -> np.ndarray:
    mask = np.zeros(shape, dtype=np.uint8)
    mask[top:bottom, left:right] = 255
    return mask


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / mse))


def jpeg_bytes(pixels: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", **options)
    return buffer.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def zero_width_png() -> bytes:
    header = struct.pack(">IIBBBBB", 0, 16, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", zlib.compress(b"")) + png_chunk(b"IEND", b""))


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    return np.ascontiguousarray(skdata.astronaut()[:HEIGHT, :WIDTH])


@pytest.fixture(scope="session")
def bomb(tmp_path_factory) -> Path:
    """A real 1-bit PNG of 12000x12000 = 144 megapixels (about 18 KB on disk)."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    Image.new("1", (12000, 12000)).save(path)
    return path


@pytest.fixture
def wide(monkeypatch) -> None:
    """A 200-column console, so the table shows output names unfolded (80 columns fold them)."""
    monkeypatch.setattr(cli_module.console, "stdout", Console(width=200))


@pytest.fixture
def files(tmp_path: Path, photo: np.ndarray) -> dict[str, Path]:
    """photo.png (256x192) and mask.png: a 10 % rectangle on the astronaut's face."""
    return {
        "photo": save(tmp_path / "photo.png", photo),
        "mask": save(tmp_path / "mask.png", rect_mask(40, 80, 100, 160)),
    }


# --- compress: the happy paths --------------------------------------------------------------------


def test_compress_with_mask_prints_a_table_and_writes_a_jpeg(capsys, tmp_path, files):
    as_json = cli(capsys, "compress", files["photo"], "-o", tmp_path / "j.jpg", "--mask", files["mask"], "--json")
    assert as_json.code == 0, as_json.err
    (summary,) = strict_json(as_json.out)
    for key in ("size", "bpp", "psnr_inside", "psnr_outside", "uniform_size", "saving"):
        assert isinstance(summary[key], (int, float)), key
    assert summary["size"] == (tmp_path / "j.jpg").stat().st_size
    assert summary["output"] == str(tmp_path / "j.jpg") and summary["input"] == str(files["photo"])
    assert summary["format"] == "jpeg" and summary["source"] == "mask"
    assert summary["important_fraction"] == pytest.approx(60 * 80 / (HEIGHT * WIDTH))
    assert summary["psnr_inside"] > summary["psnr_outside"]
    assert summary["uniform_size"] > summary["size"]
    assert 0.2 < summary["saving"] < 1, "a 10 % region on a photo should save a good share"
    assert summary["bpp"] == pytest.approx(8 * summary["size"] / (HEIGHT * WIDTH))

    table = cli(capsys, "compress", files["photo"], "-o", tmp_path / "t.jpg", "--mask", files["mask"])
    assert table.code == 0 and table.err == ""
    out = tmp_path / "t.jpg"
    with Image.open(out) as img:
        assert img.format == "JPEG" and img.size == (WIDTH, HEIGHT) and img.mode == "RGB"
        img.load()
    assert out.read_bytes()[:3] == b"\xff\xd8\xff"
    assert "bytes" in table.out and "saving" in table.out
    assert f"{out.stat().st_size:,}" in table.out
    assert f"{100 * summary['saving']:.1f}%" in table.out  # the same figure as --json, deterministic
    for name, other in summary["baselines"].items():  # libjpeg-turbo beside jpegli, under the table
        assert f"saving against uniform {name} (same PSNR in, {other['size']:,.0f} bytes): " \
               f"{100 * other['saving']:.1f}%" in " ".join(table.out.split())


def test_no_compare_skips_the_uniform_search(capsys, tmp_path, files):
    run = cli(capsys, "compress", files["photo"], "-o", tmp_path / "o.jpg", "--mask", files["mask"],
              "--no-compare", "--json")
    assert run.code == 0
    (summary,) = strict_json(run.out)
    assert summary["uniform_size"] is None and summary["saving"] is None


def test_a_uniform_file_that_wins_is_written_and_said(capsys, tmp_path, files):
    """A mask of 50 % grey codes everything between the qualities: uniform wins, the table says so."""
    half = save(tmp_path / "half.png", np.full((HEIGHT, WIDTH), 128, np.uint8))
    table = cli(capsys, "compress", files["photo"], "-o", tmp_path / "u.jpg", "--mask", half)
    assert table.code == 0, table.err
    assert "uniform" in table.out and "written" in table.out and "--no-fallback" in table.out
    kept = cli(capsys, "compress", files["photo"], "-o", tmp_path / "a.jpg", "--mask", half, "--no-fallback", "--json")
    (summary,) = strict_json(kept.out)
    assert summary["fallback"] is None and summary["saving"] < 0
    assert (tmp_path / "u.jpg").stat().st_size != (tmp_path / "a.jpg").stat().st_size


def test_huge_margin_and_feather_reach_no_further_than_the_image(capsys, tmp_path, files):
    """--margin 1e9 used to be a MemoryError: it now costs what the image's size costs and protects it all."""
    sizes = []
    for margin, feather in (("0", "0"), ("1e9", "300000")):
        run = cli(capsys, "compress", files["photo"], "-o", tmp_path / f"{margin}.jpg", "--mask", files["mask"],
                  "--margin", margin, "--feather", feather, "--no-compare", "--json")
        assert run.code == 0, run.err
        sizes.append(strict_json(run.out)[0]["size"])
    uniform = cli(capsys, "compress", files["photo"], "-o", tmp_path / "all.jpg", "--mask", files["mask"],
                  "--margin", "0", "--feather", "0", "--bg-quality", "85", "--no-compare", "--json")
    assert sizes[0] < sizes[1] == strict_json(uniform.out)[0]["size"]  # all of it at roi quality


def test_empty_mask_gives_strict_json(capsys, tmp_path, files):
    """PSNR inside an empty region is undefined: --json says null, not NaN (which is not JSON)."""
    empty = save(tmp_path / "empty.png", np.zeros((HEIGHT, WIDTH), np.uint8))
    run = cli(capsys, "compress", files["photo"], "-o", tmp_path / "o.jpg", "--mask", empty, "--json")
    assert run.code == 0, run.err
    (summary,) = strict_json(run.out)
    assert summary["important_fraction"] == 0 and summary["psnr_inside"] is None
    assert summary["saving"] is None and summary["psnr_outside"] > 20


def test_options_reach_the_encoder(capsys, tmp_path, files):
    out = tmp_path / "o.jpg"
    run = cli(capsys, "compress", files["photo"], "-o", out, "--mask", files["mask"], "--baseline",
              "--subsampling", "4:4:4", "--roi-quality", "90", "--bg-quality", "10", "--margin", "2%",
              "--feather", "8px", "--min-area", "16", "--no-compare", "--json")
    assert run.code == 0, run.err
    (summary,) = strict_json(run.out)
    assert (summary["roi_quality"], summary["bg_quality"]) == (90, 10)
    with Image.open(out) as img:
        assert not img.info.get("progressive") and not img.info.get("progression")
        assert img.layer[0][1:3] == (1, 1)  # 4:4:4: luma not subsampled relative to chroma
    default = tmp_path / "default.jpg"
    assert cli(capsys, "compress", files["photo"], "-o", default, "--mask", files["mask"], "--no-compare").code == 0
    with Image.open(default) as img:
        assert img.info.get("progressive") or img.info.get("progression")
        assert img.layer[0][1:3] == (2, 2)


@pytest.mark.parametrize("name", ["jxl"])
def test_jxl_by_option_or_by_extension(capsys, tmp_path, files, codec):
    import imagecodecs

    by_extension = tmp_path / "a.jxl"
    run = cli(capsys, "compress", files["photo"], "-o", by_extension, "--mask", files["mask"], "--no-compare",
              "--json")
    assert run.code == 0, run.err
    assert strict_json(run.out)[0]["format"] == "jxl"
    by_option = tmp_path / "folder"
    run = cli(capsys, "compress", files["photo"], "-o", f"{by_option}/", "--format", "jxl", "--mask",
              files["mask"], "--no-compare")
    assert run.code == 0, run.err
    written = by_option / "photo.jxl"
    for path in (by_extension, written):
        blob = path.read_bytes()
        assert blob.startswith(JXL_MAGICS)
        assert imagecodecs.jpegxl_decode(blob).shape == (HEIGHT, WIDTH, 3)
    assert by_extension.read_bytes() == written.read_bytes()
    # JPEG XL is a lossless transcode of the region-adaptive JPEG: smaller than the same JPEG.
    assert cli(capsys, "compress", files["photo"], "-o", tmp_path / "a.jpg", "--mask", files["mask"],
               "--no-compare").code == 0
    assert written.stat().st_size < (tmp_path / "a.jpg").stat().st_size


def test_several_inputs_into_a_folder_with_a_mask_folder(capsys, tmp_path):
    pictures = {
        "astronaut": skdata.astronaut()[:HEIGHT, :WIDTH],
        "coffee": skdata.coffee()[:HEIGHT, :WIDTH],
        "chelsea": skdata.chelsea()[:HEIGHT, :WIDTH],
    }
    regions = {"astronaut": (0, 0, 64, 64), "coffee": (0, 0, 96, 128), "chelsea": (0, 0, 32, 32)}
    inputs = [save(tmp_path / "in" / f"{name}.png", pixels) for name, pixels in pictures.items()]
    for name, box in regions.items():
        save(tmp_path / "masks" / f"{name}.png", rect_mask(*box))
    out = tmp_path / "out" / "nested"  # does not exist yet: created
    run = cli(capsys, "compress", *inputs, "-o", out, "--mask", tmp_path / "masks", "--no-compare", "--json")
    assert run.code == 0, run.err
    summaries = strict_json(run.out)
    assert [Path(s["output"]) for s in summaries] == [out / f"{name}.jpg" for name in pictures]
    for summary, (name, (top, left, bottom, right)) in zip(summaries, regions.items()):
        # each image got its own <stem>.png mask
        assert summary["important_fraction"] == pytest.approx((bottom - top) * (right - left) / (HEIGHT * WIDTH))
        with Image.open(summary["output"]) as img:
            assert img.format == "JPEG" and img.size == (WIDTH, HEIGHT)
    assert tree(out) == {f"{name}.jpg" for name in pictures}

    # A single input into a folder named with a trailing slash; the mask folder works the same.
    single = cli(capsys, "compress", inputs[1], "-o", f"{tmp_path / 'one'}/", "--mask", tmp_path / "masks",
                 "--no-compare")
    assert single.code == 0, single.err
    assert tree(tmp_path / "one") == {"coffee.jpg"}


def test_several_inputs_one_bad(capsys, tmp_path, files, photo, monkeypatch, wide):
    monkeypatch.chdir(tmp_path)
    save(tmp_path / "second.png", photo[::-1])
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(200))
    run = cli(capsys, "compress", "photo.png", "broken.png", "second.png", "-o", "out", "--mask", "mask.png",
              "--no-compare")
    assert run.code == 1
    assert_one_error(run, "broken.png")
    assert tree(tmp_path / "out") == {"photo.jpg", "second.jpg"}
    assert "out/photo.jpg" in run.out and "out/second.jpg" in run.out  # the table lists the good ones


def test_several_inputs_need_a_folder(capsys, tmp_path, files):
    existing = tmp_path / "existing.jpg"
    existing.write_bytes(b"old")
    run = cli(capsys, "compress", files["photo"], files["photo"], "-o", existing, "--mask", files["mask"])
    assert run.code == 2
    assert_one_error(run, "folder")
    assert existing.read_bytes() == b"old"
    assert tree(tmp_path) == {"photo.png", "mask.png", "existing.jpg"}


def test_mask_folder_missing_an_entry(capsys, tmp_path, files, photo):
    masks = tmp_path / "masks"
    save(masks / "photo.png", rect_mask(0, 0, 50, 50))
    other = save(tmp_path / "other.png", photo)
    out = tmp_path / "out"
    run = cli(capsys, "compress", files["photo"], other, "-o", out, "--mask", masks, "--no-compare")
    assert run.code == 1
    assert_one_error(run, "other.png")
    assert tree(out) == {"photo.jpg"}


def test_inputs_with_the_same_name_never_overwrite_each_other(capsys, tmp_path, photo, files):
    first = save(tmp_path / "a" / "x.png", photo)
    second = save(tmp_path / "b" / "x.png", photo[::-1].copy())
    out = tmp_path / "out"
    run = cli(capsys, "compress", first, second, "-o", out, "--mask", files["mask"], "--no-compare",
              "--overwrite", "--json")
    assert run.code == 1
    assert_one_error(run, "x.jpg")
    (summary,) = strict_json(run.out)
    assert summary["input"] == str(first)
    decoded = np.asarray(Image.open(out / "x.jpg"))
    assert psnr(decoded, photo) > psnr(decoded, photo[::-1])  # still the first input's picture


def test_console_script_runs_in_a_subprocess(tmp_path, files):
    script = Path(sys.executable).parent / "segpress"
    if not script.exists():
        script = Path(shutil.which("segpress") or "missing")
    if not script.exists():
        pytest.skip("segpress console script not installed")
    out = tmp_path / "o.jpg"
    done = subprocess.run(
        [script, "compress", files["photo"], "-o", out, "--mask", files["mask"], "--no-compare", "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["size"] == out.stat().st_size
    failed = subprocess.run(
        [script, "compress", tmp_path / "missing.png", "-o", tmp_path / "m.jpg", "--mask", files["mask"]],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert failed.returncode == 1
    assert failed.stderr.splitlines() == [f"error: {tmp_path / 'missing.png'}: no such file"]
    assert not (tmp_path / "m.jpg").exists()


def test_version_and_formats(capsys):
    run = cli(capsys, "--version")
    assert run.code == 0 and run.out.startswith("segpress ")
    run = cli(capsys, "formats")
    assert run.code == 0
    assert run.out.startswith("jpeg") and ".jpg" in run.out
    assert "policies: default, people, text, traffic" in run.out


def test_output_names_with_brackets_are_printed_as_given(capsys, tmp_path, files, monkeypatch, wide):
    """File names are not rich markup: "[red]" is shown as is, and "[/]" does not crash the table."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a[").mkdir()
    shutil.copy(files["photo"], tmp_path / "copy.png")
    run = cli(capsys, "compress", "photo.png", "copy.png", "-o", "a[/]", "--mask", "mask.png",
              "--no-compare")
    assert run.code == 0, run.err
    assert "a[/]/photo.jpg" in run.out and "a[/]/copy.jpg" in run.out
    run = cli(capsys, "compress", "photo.png", "-o", "[red]x.jpg", "--mask", "mask.png", "--no-compare")
    assert run.code == 0, run.err
    assert "[red]x.jpg" in run.out
    assert (tmp_path / "[red]x.jpg").exists()


# --- labels, policies and inspect -----------------------------------------------------------------

PERSON = (20, 20, 80, 80)  # 60x60
VEHICLE = (100, 120, 180, 240)  # 80x120


@pytest.fixture
def labels(tmp_path) -> Path:
    """Sky everywhere, one person and one vehicle rectangle, in taxonomy indices."""
    label_map = np.full((HEIGHT, WIDTH), CLASSES.index("sky"), dtype=np.uint8)
    for box, name in ((PERSON, "person"), (VEHICLE, "vehicle")):
        top, left, bottom, right = box
        label_map[top:bottom, left:right] = CLASSES.index(name)
    return save(tmp_path / "labels.png", label_map)


def _share(*boxes) -> float:
    return sum((bottom - top) * (right - left) for top, left, bottom, right in boxes) / (HEIGHT * WIDTH)


def test_policies_weigh_label_maps_differently(capsys, tmp_path, files, labels):
    policy_file = tmp_path / "vehicles.toml"
    policy_file.write_text('name = "vehicles"\nmargin = 0\nfeather = 2\n\n[weights]\nvehicle = 1.0\n')
    fractions = {}
    for policy in ("people", "traffic", "default", policy_file):
        run = cli(capsys, "compress", files["photo"], "-o", tmp_path / f"{Path(str(policy)).stem}.jpg",
                  "--labels", labels, "--policy", policy, "--no-compare", "--json")
        assert run.code == 0, run.err
        (summary,) = strict_json(run.out)
        assert summary["source"] == "labels"
        fractions[Path(str(policy)).stem] = summary["important_fraction"]
    assert fractions["people"] == pytest.approx(_share(PERSON))
    assert fractions["traffic"] == pytest.approx(_share(PERSON, VEHICLE))
    assert fractions["default"] == pytest.approx(_share(PERSON, VEHICLE))
    assert fractions["vehicles"] == pytest.approx(_share(VEHICLE))
    sizes = {name: (tmp_path / f"{name}.jpg").stat().st_size for name in fractions}
    assert sizes["people"] < sizes["traffic"]  # fewer protected pixels, fewer bytes


def test_keep_map_and_inspect(capsys, tmp_path, files, labels):
    out = tmp_path / "kept.jpg"
    run = cli(capsys, "compress", files["photo"], "-o", out, "--labels", labels, "--policy", "traffic",
              "--roi-quality", "90", "--bg-quality", "20", "--keep-map", "--no-compare")
    assert run.code == 0, run.err
    with Image.open(out) as img:
        img.load()  # the embedded map does not disturb decoders

    shown = cli(capsys, "inspect", out, "--map-png", tmp_path / "map.png")
    assert shown.code == 0, shown.err
    text = " ".join(shown.out.split())
    assert "roi 90, background 20" in text
    assert "qualities" in text and "protected classes" in text and "labels" in text
    assert f"vehicle {100 * _share(VEHICLE):.1f}%" in text and f"person {100 * _share(PERSON):.1f}%" in text
    assert f"{out.stat().st_size:,}" in text and f"{WIDTH}x{HEIGHT}" in text
    with Image.open(tmp_path / "map.png") as png:
        # The embedded map is downscaled to at most 128 px on its longer side.
        assert png.format == "PNG" and png.mode == "L" and png.size == (128, 128 * HEIGHT // WIDTH)
        importance = np.asarray(png)
    half = 128 / WIDTH
    assert importance[int(140 * half), int(180 * half)] == 255  # vehicle
    assert importance[int(50 * half), int(50 * half)] == 255  # person
    assert importance[-1, 0] == 0  # sky, far from both

    again = cli(capsys, "inspect", out, "--map-png", tmp_path / "map.png")
    assert again.code == 2
    assert_one_error(again, "exists")
    assert cli(capsys, "inspect", out, "--map-png", tmp_path / "map.png", "--overwrite").code == 0


@pytest.mark.parametrize("name", ["jxl"])
def test_inspect_a_jxl_with_a_map(capsys, tmp_path, files, codec):
    out = tmp_path / "kept.jxl"
    assert cli(capsys, "compress", files["photo"], "-o", out, "--mask", files["mask"], "--keep-map",
               "--no-compare").code == 0
    shown = cli(capsys, "inspect", out)
    assert shown.code == 0
    text = " ".join(shown.out.split())
    assert "jxl" in text and "roi 85, background 25" in text and "mask" in text


def test_inspect_a_file_without_a_map(capsys, tmp_path, files):
    out = tmp_path / "plain.jpg"
    assert cli(capsys, "compress", files["photo"], "-o", out, "--mask", files["mask"], "--no-compare").code == 0
    shown = cli(capsys, "inspect", out)
    assert shown.code == 0
    text = " ".join(shown.out.split())
    assert "none embedded (segpress compress --keep-map" in text
    # The roi quality: segpress keeps the finest table (jpegli's, where it is installed).
    assert f"│ quality │ 85 ({'jpegli' if jpegli.available() else 'IJG'} tables)" in text
    # The README's `inspect photo.jpg --map-png map.png` on such a file: what it holds, and a note.
    asked = cli(capsys, "inspect", out, "--map-png", tmp_path / "map.png")
    assert asked.code == 0 and "jpeg" in asked.out and "none embedded" in " ".join(asked.out.split())
    assert asked.err.startswith("note: plain.jpg holds no importance map") and "not written" in asked.err
    assert not (tmp_path / "map.png").exists()
    uniform = tmp_path / "uniform.jpg"
    uniform.write_bytes(jpeg_bytes(np.asarray(Image.open(files["photo"])), quality=62))
    assert "62 (IJG tables)" in " ".join(cli(capsys, "inspect", uniform).out.split())


def test_inspect_refuses_what_it_cannot_read(capsys, tmp_path, files, photo):
    assert_one_error(cli(capsys, "inspect", tmp_path / "missing.jpg"), "no such file")
    assert_one_error(cli(capsys, "inspect", files["photo"]), "not a file segpress writes")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(jpeg_bytes(photo)[:3000])
    assert_one_error(cli(capsys, "inspect", broken), "broken.jpg")
    # A segpress segment whose description is not what segpress writes (a foreign or damaged file).
    valid = embedded.pack(np.ones((8, 8), np.float32), {})
    png = valid[5 + struct.unpack(">I", valid[1:5])[0]:]
    header = json.dumps({"regions": ["person"], "important_fraction": "most"}).encode()
    payload = bytes((1,)) + struct.pack(">I", len(header)) + header + png
    odd = tmp_path / "odd.jpg"
    odd.write_bytes(jpeg_markers.insert_segments(
        jpeg_bytes(photo), [jpeg_markers.segment(jpeg_markers.APP10, jpeg_markers.SEGPRESS_HEADER + payload)]
    ))
    assert_one_error(cli(capsys, "inspect", odd), "odd.jpg")


# --- metadata -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def srgb() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _exif(**tags) -> Image.Exif:
    exif = Image.Exif()
    exif[MAKE] = "SegpressTestCam"
    for key, value in tags.items():
        exif[int(key.removeprefix("t"))] = value
    return exif


def test_exif_and_icc_are_kept_unless_stripped(capsys, tmp_path, photo, files, srgb):
    source = save(tmp_path / "camera.jpg", photo, "JPEG", quality=95, exif=_exif().tobytes(), icc_profile=srgb)
    kept, stripped = tmp_path / "kept.jpg", tmp_path / "stripped.jpg"
    assert cli(capsys, "compress", source, "-o", kept, "--mask", files["mask"], "--no-compare").code == 0
    assert cli(capsys, "compress", source, "-o", stripped, "--mask", files["mask"], "--no-compare",
               "--strip").code == 0
    with Image.open(kept) as img:
        assert img.getexif().get(MAKE) == "SegpressTestCam"
        assert img.info.get("icc_profile") == srgb
    with Image.open(stripped) as img:
        assert MAKE not in img.getexif()
        assert not img.info.get("icc_profile") and not img.info.get("exif")
    assert stripped.stat().st_size < kept.stat().st_size


def test_exif_orientation_is_applied(capsys, tmp_path, photo):
    source = save(tmp_path / "rotated.jpg", photo, "JPEG", quality=95, exif=_exif(t274=6).tobytes())
    upright = np.asarray(ImageOps.exif_transpose(Image.open(source)))
    assert upright.shape[:2] == (WIDTH, HEIGHT)
    mask = save(tmp_path / "mask.png", rect_mask(0, 0, WIDTH, HEIGHT, shape=(WIDTH, HEIGHT)))  # all of it
    out = tmp_path / "out.jpg"
    run = cli(capsys, "compress", source, "-o", out, "--mask", mask, "--no-compare", "--json")
    assert run.code == 0, run.err
    assert "EXIF orientation 6 applied" in strict_json(run.out)[0]["notes"]
    with Image.open(out) as img:
        assert img.size == (HEIGHT, WIDTH)  # width and height swapped
        assert img.getexif().get(ORIENTATION, 1) == 1
        assert img.getexif().get(MAKE) == "SegpressTestCam"
        assert psnr(np.asarray(img), upright) > 30

    # A mask at the stored (unrotated) size no longer fits the upright image.
    wrong = save(tmp_path / "wrong.png", rect_mask(0, 0, 10, 10))
    assert_one_error(cli(capsys, "compress", source, "-o", tmp_path / "w.jpg", "--mask", wrong), "wrong.png")


# --- image modes ----------------------------------------------------------------------------------


def _grey(rgb):
    return Image.fromarray(rgb).convert("L")


def _palette(rgb):
    return Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)


def _rgba(rgb):
    alpha = np.full(rgb.shape[:2], 255, np.uint8)
    alpha[:, : WIDTH // 4] = 0
    return Image.fromarray(np.dstack([rgb, alpha]), "RGBA")


def _grey16(rgb):
    return Image.fromarray(np.asarray(_grey(rgb)).astype(np.uint16) * 257)


def _cmyk(rgb):
    return Image.fromarray(rgb).convert("CMYK")


@pytest.mark.parametrize(
    "make, suffix, stored_mode, out_mode, note",
    [
        (_grey, ".png", "L", "L", None),
        (_palette, ".png", "P", "RGB", None),
        (_rgba, ".png", "RGBA", "RGB", "alpha flattened onto white"),
        (_grey16, ".png", "I;16", "L", "16-bit reduced to 8-bit"),
        (_cmyk, ".jpg", "CMYK", "RGB", "CMYK converted to RGB"),
    ],
    ids=["grey", "palette", "rgba", "grey16", "cmyk-jpeg"],
)
def test_image_modes(capsys, tmp_path, photo, files, make, suffix, stored_mode, out_mode, note):
    source = save(tmp_path / f"input{suffix}", make(photo))
    with Image.open(source) as img:
        assert img.mode == stored_mode
    out = tmp_path / "out.jpg"
    run = cli(capsys, "compress", source, "-o", out, "--mask", files["mask"], "--no-compare", "--json")
    assert run.code == 0, run.err
    (summary,) = strict_json(run.out)
    assert (summary["notes"] == []) if note is None else (note in summary["notes"])
    with Image.open(out) as img:
        assert img.format == "JPEG" and img.mode == out_mode and img.size == (WIDTH, HEIGHT)


# --- refusals: nothing written, one line on stderr ------------------------------------------------


def _input(name: str, content: bytes | None = None):
    def build(d: Path, photo: np.ndarray) -> list:
        path = d / name
        if content is not None:
            path.write_bytes(content)
        return [path, "--mask", d / "mask.png"]

    return build


def _folder_input(d, photo):
    (d / "folder").mkdir()
    return [d / "folder", "--mask", d / "mask.png"]


def _truncated_jpeg(d, photo):
    blob = jpeg_bytes(photo, quality=90)
    (d / "cut.jpg").write_bytes(blob[: len(blob) // 2])
    return [d / "cut.jpg", "--mask", d / "mask.png"]


def _options(*options):
    def build(d: Path, photo: np.ndarray) -> list:
        return [d / "photo.png", *[str(o).format(d=d) for o in options]]

    return build


def _policy_file(text: str, suffix: str = ".toml"):
    def build(d: Path, photo: np.ndarray) -> list:
        path = d / f"policy{suffix}"
        path.write_text(text)
        return [d / "photo.png", "--labels", d / "labels.png", "--policy", path]

    return build


REFUSALS = {
    # unusable inputs: exit 1
    "missing input": (_input("missing.png"), 1, "no such file"),
    "directory input": (_folder_input, 1, "directory"),
    "random bytes": (_input("noise.png", bytes(np.random.default_rng(1).integers(0, 256, 4000, np.uint8))),
                     1, "noise.png"),
    "empty file": (_input("empty.png", b""), 1, "empty"),
    "truncated jpeg": (_truncated_jpeg, 1, "truncated"),
    "zero-width png": (_input("zero.png", zero_width_png()), 1, "zero.png"),
    "mask of another size": (_options("--mask", "{d}/small_mask.png"), 1, "must have the image's size"),
    "missing mask": (_options("--mask", "{d}/nomask.png"), 1, "no such file"),
    "colour picture as labels": (_options("--labels", "{d}/photo.png"), 1, "label map"),
    # bad options: exit 2
    "unknown format": (_options("--mask", "{d}/mask.png", "--format", "gif"), 2, "unknown format"),
    "unknown policy": (_options("--labels", "{d}/labels.png", "--policy", "nope"), 2, "unknown policy"),
    "missing policy file": (_options("--labels", "{d}/labels.png", "--policy", "{d}/none.toml"), 2, "not found"),
    "policy syntax": (_policy_file("[weights\nperson = 1\n"), 2, "cannot parse"),
    "policy class": (_policy_file("[weights]\nunicorn = 1.0\n"), 2, "unknown class"),
    "policy weight": (_policy_file("[weights]\nperson = 2\n"), 2, "[0, 1]"),
    "yaml policy": (_policy_file("weights: [person\n", ".yaml"), 2, "cannot parse"),
    "roi quality 0": (_options("--mask", "{d}/mask.png", "--roi-quality", "0"), 2, "1..100"),
    "roi quality 101": (_options("--mask", "{d}/mask.png", "--roi-quality", "101"), 2, "1..100"),
    "bg quality 0": (_options("--mask", "{d}/mask.png", "--bg-quality", "0"), 2, "1..100"),
    "bg above roi": (_options("--mask", "{d}/mask.png", "--roi-quality", "50", "--bg-quality", "60"), 2,
                     "above roi quality"),
    "quality text": (_options("--mask", "{d}/mask.png", "--roi-quality", "high"), 2, "--roi-quality"),
    "subsampling": (_options("--mask", "{d}/mask.png", "--subsampling", "4:2:2"), 2, "subsampling"),
    "margin text": (_options("--mask", "{d}/mask.png", "--margin", "wide"), 2, "cannot read length"),
    "negative margin": (_options("--mask", "{d}/mask.png", "--margin", "-3"), 2, "--margin"),
    "feather nan": (_options("--mask", "{d}/mask.png", "--feather", "nan"), 2, "--feather"),
    "percentage 100": (_options("--mask", "{d}/mask.png", "--min-area", "100%"), 2, "below 100%"),
    "sub-pixel margin": (_options("--mask", "{d}/mask.png", "--margin", "0.5"), 2, "pixel"),
    "max pixels 0": (_options("--mask", "{d}/mask.png", "--max-pixels", "0"), 2, "--max-pixels"),
    "segmenter and mask": (_options("--mask", "{d}/mask.png", "--segmenter", "x.toml"), 2, "--segmenter"),
    "two importances": (_options("--mask", "{d}/mask.png", "--labels", "{d}/labels.png"), 2, "not both"),
    "unknown option": (_options("--mask", "{d}/mask.png", "--qualty", "80"), 2, "--qualty"),
    "target size text": (_options("--mask", "{d}/mask.png", "--target-size", "5XB"), 2, "cannot read size"),
    "target size 0": (_options("--mask", "{d}/mask.png", "--target-size", "0KB"), 2, "at least 1 byte"),
    "two targets": (_options("--mask", "{d}/mask.png", "--target-size", "5KB", "--target-roi-psnr", "35"), 2,
                    "one target"),
    "target psnr text": (_options("--mask", "{d}/mask.png", "--target-roi-psnr", "sharp"), 2,
                         "--target-roi-psnr"),
    "target psnr negative": (_options("--mask", "{d}/mask.png", "--target-roi-psnr", "-3"), 2, "positive"),
    "target psnr nan": (_options("--mask", "{d}/mask.png", "--target-roi-psnr", "nan"), 2, "positive"),
    # a bad target is refused before any file is read: even a missing input is not reported
    "target before input": (lambda d, photo: [d / "missing.png", "--mask", d / "mask.png", "--target-size", "x"],
                            2, "cannot read size"),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_refusals(capsys, tmp_path, photo, name):
    build, code, fragment = REFUSALS[name]
    save(tmp_path / "photo.png", photo)
    save(tmp_path / "mask.png", rect_mask(40, 80, 100, 160))
    save(tmp_path / "small_mask.png", rect_mask(0, 0, 10, 10, shape=(HEIGHT - 8, WIDTH)))
    save(tmp_path / "labels.png", np.full((HEIGHT, WIDTH), CLASSES.index("person"), np.uint8))
    args = build(tmp_path, photo)
    (tmp_path / "out").mkdir()
    before = tree(tmp_path)
    run = cli(capsys, "compress", *args, "-o", tmp_path / "out" / "result.jpg")
    assert run.code == code
    assert_one_error(run, fragment)
    assert run.out == ""
    assert tree(tmp_path) == before  # no output, no temporary file, nothing else


def test_decompression_bomb_is_refused_before_decoding(capsys, tmp_path, files, bomb):
    out = tmp_path / "out"
    out.mkdir()
    run = cli(capsys, "compress", bomb, "-o", out / "bomb.jpg", "--mask", files["mask"],
              "--max-pixels", "10000000")
    assert run.code == 1
    assert_one_error(run, "--max-pixels", "144,000,000")
    assert tree(out) == set()


def test_existing_output_is_kept_without_overwrite(capsys, tmp_path, files):
    out = tmp_path / "out.jpg"
    out.write_bytes(b"precious")
    run = cli(capsys, "compress", files["photo"], "-o", out, "--mask", files["mask"], "--no-compare")
    assert_one_error(run, "--overwrite")
    assert out.read_bytes() == b"precious"
    assert tree(tmp_path) == {"photo.png", "mask.png", "out.jpg"}
    replaced = cli(capsys, "compress", files["photo"], "-o", out, "--mask", files["mask"], "--no-compare",
                   "--overwrite")
    assert replaced.code == 0
    assert out.read_bytes()[:3] == b"\xff\xd8\xff"


def test_inputs_are_never_overwritten(capsys, tmp_path, photo, files, monkeypatch):
    source = save(tmp_path / "photo.jpg", photo, "JPEG", quality=90)
    original = source.read_bytes()
    mask_bytes = files["mask"].read_bytes()
    monkeypatch.chdir(tmp_path)
    for output in (source, "photo.jpg", "./photo.jpg"):
        run = cli(capsys, "compress", "photo.jpg", "-o", output, "--mask", files["mask"], "--overwrite",
                  "--no-compare")
        assert_one_error(run, "input")
        assert source.read_bytes() == original
    # The mask is an input too (--format: a .png name alone does not say which codec to use).
    run = cli(capsys, "compress", source, "-o", files["mask"], "--mask", files["mask"], "--overwrite",
              "--no-compare", "--format", "jpeg")
    assert_one_error(run, "input")
    assert files["mask"].read_bytes() == mask_bytes
    assert tree(tmp_path) == {"photo.png", "photo.jpg", "mask.png"}


# --- atomic output --------------------------------------------------------------------------------


@pytest.fixture
def old_output(tmp_path) -> Path:
    out = tmp_path / "out" / "result.jpg"
    out.parent.mkdir()
    out.write_bytes(b"old bytes")
    return out


def test_encoder_failure_leaves_no_file(capsys, files, old_output, monkeypatch):
    def broken(self, *args, **kwargs):
        raise InputError("encoder gave up halfway")

    monkeypatch.setattr(JpegCodec, "encode", broken)
    run = cli(capsys, "compress", files["photo"], "-o", old_output, "--mask", files["mask"], "--overwrite")
    assert run.code == 1
    assert_one_error(run, "encoder gave up halfway")
    assert old_output.read_bytes() == b"old bytes"
    assert tree(old_output.parent) == {"result.jpg"}
    fresh = old_output.parent / "fresh.jpg"
    assert cli(capsys, "compress", files["photo"], "-o", fresh, "--mask", files["mask"]).code == 1
    assert tree(old_output.parent) == {"result.jpg"}


def test_failed_write_removes_the_temporary_file(capsys, files, old_output, monkeypatch):
    seen: list[set[str]] = []

    def disk_full(fd):
        seen.append(tree(old_output.parent))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(imageio.writing.os, "fsync", disk_full)
    run = cli(capsys, "compress", files["photo"], "-o", old_output, "--mask", files["mask"], "--overwrite",
              "--no-compare")
    monkeypatch.undo()
    assert run.code == 1
    assert_one_error(run, os.strerror(errno.ENOSPC))
    (during,) = seen
    temporary = during - {"result.jpg"}
    assert len(temporary) == 1 and next(iter(temporary)).startswith(".result.jpg.")  # the write had begun
    assert tree(old_output.parent) == {"result.jpg"}
    assert old_output.read_bytes() == b"old bytes"


def test_interrupt_during_write_leaves_the_old_file(capsys, files, old_output, monkeypatch):
    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(imageio.writing.os, "replace", interrupted)
    run = cli(capsys, "compress", files["photo"], "-o", old_output, "--mask", files["mask"], "--overwrite",
              "--no-compare")
    monkeypatch.undo()
    assert run.code == 130
    assert_one_error(run, "interrupted")
    assert tree(old_output.parent) == {"result.jpg"}
    assert old_output.read_bytes() == b"old bytes"


@pytest.mark.parametrize(
    ("output", "extra", "fragment"),
    [
        ("out.png", [], "cannot tell the format"),
        ("out.jpg", ["--format", "jxl"], "does not match"),
        ("out.jxl", ["--format", "webp"], "does not match"),
        ("out.webp", ["--format", "jxl-pixels"], "does not match"),
        ("out.avif", ["--format", "jpeg"], "does not match"),
    ],
)
def test_output_name_must_agree_with_format(capsys, tmp_path, files, output, extra, fragment):
    run = cli(capsys, "compress", files["photo"], "-o", tmp_path / output, "--mask", files["mask"], *extra)
    assert_one_error(run, fragment)
    assert not (tmp_path / output).exists()


@pytest.mark.parametrize("name", ["webp"])
def test_a_codec_library_failure_is_one_error_line(capsys, tmp_path, codec):
    wide = tmp_path / "wide.png"  # libwebp refuses anything over 16383 pixels across
    Image.fromarray(np.full((4, 16400, 3), 90, np.uint8)).save(wide)
    mask = tmp_path / "mask.png"
    Image.fromarray(np.full((4, 16400), 255, np.uint8)).save(mask)
    run = cli(capsys, "compress", wide, "--mask", mask, "-o", tmp_path / "out.webp", "--no-compare")
    line = assert_one_error(run, f"{wide}: webp encode failed", "16383")
    assert run.code == 1 and not (tmp_path / "out.webp").exists(), line


def test_cannot_tell_the_format_lists_every_extension(capsys, tmp_path, files):
    line = assert_one_error(cli(capsys, "compress", files["photo"], "-o", tmp_path / "out.gif", "--mask",
                                files["mask"]), "cannot tell the format")
    for name in codecs.available_names():
        for extension in codecs.get(name).extensions:
            assert extension in line


# --- other formats --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "output", "extra"),
    [
        ("webp", "o.webp", []),
        ("avif", "O.AVIF", []),
        ("j2k", "o.jp2", []),
        ("j2k", "o.j2k", ["--format", "j2k"]),
        ("jxl-pixels", "o.jxl", ["--format", "jxl-pixels"]),
        ("webp", "folder/", ["--format", "webp"]),
        ("jxl-pixels", "folder/", ["-f", "jxl-pixels"]),
    ],
)
def test_pixel_formats_by_extension_or_option(capsys, tmp_path, files, name, codec, output, extra):
    run = cli(capsys, "compress", files["photo"], "-o", f"{tmp_path}/{output}", "--mask", files["mask"], *extra,
              "--json")
    assert run.code == 0, run.err
    (summary,) = strict_json(run.out)
    assert summary["format"] == name
    written = Path(summary["output"])
    if output.endswith("/"):
        assert written == tmp_path / "folder" / f"photo{codecs.get(name).extensions[0]}"
    blob = written.read_bytes()
    assert codecs.get(name).check(blob) and len(blob) == summary["size"]
    assert codecs.get(name).decode(blob).shape == (HEIGHT, WIDTH, 3)
    assert summary["psnr_inside"] > summary["psnr_outside"]
    assert 0 < summary["saving"] < 1  # the saving is measured for every format


def test_formats_lists_every_codec_in_registry_order(capsys):
    run = cli(capsys, "formats")
    assert run.code == 0
    lines = run.out.splitlines()
    names = codecs.available_names()
    assert [line.split()[0] for line in lines[: len(names)]] == names
    assert names[:2] == ["jpeg", "jxl"]
    # One column wide enough for the longest name: the extensions all start at the same place.
    starts = {line.index(codecs.get(name).extensions[0]) for line, name in zip(lines, names, strict=False)}
    assert len(starts) == 1, lines


# --- rate control ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["jpeg", "webp", "avif", "jxl-pixels"])
def test_target_size_through_the_cli(capsys, tmp_path, files, name, codec):
    out = tmp_path / f"o{codecs.get(name).extensions[0]}"
    base = ["compress", files["photo"], "--mask", files["mask"], "--format", name, "--json"]
    default = strict_json(cli(capsys, *base, "-o", tmp_path / "default.bin", "--no-compare").out)[0]["size"]
    for target in (int(default * 0.7), int(default * 1.5)):
        run = cli(capsys, *base, "-o", out, "--target-size", f"{target / 1000}KB", "--overwrite")
        assert run.code == 0, run.err
        (summary,) = strict_json(run.out)
        assert summary["size"] == out.stat().st_size <= target
        assert (summary["target"], summary["target_kind"]) == (target, "size")
        assert 1 <= summary["rate_encodes"] <= 8
        assert summary["rate_reached"] is (summary["size"] >= 0.97 * target)
        assert (summary["rate_note"] is None) is summary["rate_reached"]
        assert 1 <= summary["bg_quality"] <= summary["roi_quality"] <= 100
        assert summary["saving"] is not None and summary["uniform_size"] > summary["size"]
        assert codecs.get(name).decode(out.read_bytes()).shape == (HEIGHT, WIDTH, 3)
    assert summary["roi_quality"] > 85  # 1.5x the default file: the region got the room


@pytest.mark.parametrize("name", ["jpeg", "webp"])
def test_target_roi_psnr_through_the_cli(capsys, tmp_path, files, name, wide):
    out = tmp_path / f"o{codecs.get(name).extensions[0]}"
    run = cli(capsys, "compress", files["photo"], "-o", out, "--mask", files["mask"], "--format", name,
              "--target-roi-psnr", "37", "--json")
    assert run.code == 0, run.err
    (summary,) = strict_json(run.out)
    assert summary["psnr_inside"] >= 37 and summary["rate_reached"]
    assert (summary["target"], summary["target_kind"]) == (37, "roi_psnr")
    assert 1 <= summary["rate_encodes"] <= 8 and summary["bg_quality"] == 25
    assert summary["size"] == out.stat().st_size
    # The table shows the qualities chosen, as --json gives them.
    table = cli(capsys, "compress", files["photo"], "-o", out, "--mask", files["mask"], "--format", name,
                "--target-roi-psnr", "37", "--overwrite")
    assert table.code == 0 and table.err == ""
    assert "roi/bg" in table.out
    assert f"{summary['roi_quality']:.1f}/{summary['bg_quality']:.1f}" in table.out
    assert f"{summary['size']:,}" in table.out


def test_target_missed_by_a_whole_quality_step_is_reported(capsys, tmp_path, files, wide):
    """JPEG qualities are whole numbers: between two steps the file may be more than 3 % under."""
    out = tmp_path / "o.jpg"
    for target in range(1900, 2600, 50):
        run = cli(capsys, "compress", files["photo"], "-o", out, "--mask", files["mask"], "--roi-quality", "60",
                  "--target-size", target, "--overwrite", "--no-compare")
        assert run.code == 0, run.err
        assert out.stat().st_size <= target
        if "note:" in run.out:
            break
    else:
        pytest.skip("every target in the range was met within 3 %")
    text = " ".join(run.out.split())
    assert f"note: {out}: target not met within tolerance" in text and "under the target" in text


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (["--target-size", "100"], "below the smallest file"),
        (["--target-roi-psnr", "70"], "above what this image reaches"),
    ],
)
@pytest.mark.parametrize("name", ["jpeg", "webp"])
def test_impossible_target_is_one_error(capsys, tmp_path, files, name, options, fragment):
    """An image that cannot meet the target fails as an input does (exit 1), and nothing is written."""
    out = tmp_path / "out" / f"o{codecs.get(name).extensions[0]}"
    out.parent.mkdir()
    run = cli(capsys, "compress", files["photo"], "-o", out, "--mask", files["mask"], *options)
    assert run.code == 1
    assert_one_error(run, fragment)
    assert run.out == "" and tree(out.parent) == set()


def test_psnr_target_needs_a_region(capsys, tmp_path, files):
    empty = save(tmp_path / "empty.png", np.zeros((HEIGHT, WIDTH), np.uint8))
    run = cli(capsys, "compress", files["photo"], "-o", tmp_path / "o.jpg", "--mask", empty,
              "--target-roi-psnr", "35")
    assert run.code == 1
    assert_one_error(run, "important region")
