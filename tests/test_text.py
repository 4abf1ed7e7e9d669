"""Text as an importance source: ``segpress.text``, policies' ``[sources]``, ``--text`` in the CLI.

The detector (PP-OCRv4 det) and recogniser (PP-OCRv4 rec) come from ``rapidocr-onnxruntime``, which
``make test`` installs (``--no-deps``, see the Makefile). Images are generated (Pillow's default font
on photos and plain grounds) or real: ``skimage.data.page()`` is a photograph of a printed page.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from skimage import data as skdata

import segpress
from segpress import OptionError, codecs
from segpress import sources as importance_sources
from segpress import text as textdet
from segpress.api import build_importance, wants_text
from segpress.cli import main
from segpress.imageio import load_image
from segpress.importance import combine
from segpress.metrics import psnr
from segpress.policy import PRESETS, Policy, load_policy
from segpress.ratecontrol import decode_like
from segpress.segmenters import render
from segpress.text import TextDetector, default_detector, read_text, text_regions

LINES = (("SPEED LIMIT 40", 28), ("KA 4821 XT", 20), ("OPEN 9-17h", 16))
# The heading of skimage's page photo, "Region-based segmentation", as measured on the picture.
PAGE_HEADING = (5, 11, 293, 34)


def squeeze(text: str) -> str:
    return "".join(text.split())


def rendered(ground: np.ndarray, lines=LINES, plate=(236, 236, 228), ink=(20, 20, 24)):
    """``lines`` (text, font size) drawn on plates down the left of ``ground``; the pixels and plate boxes."""
    image = Image.fromarray(ground)
    draw = ImageDraw.Draw(image)
    boxes, y = [], 12
    for text, size in lines:
        font = ImageFont.load_default(size=size)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        pad = max(3, size // 3)
        box = (16, y, 16 + right - left + 2 * pad, y + bottom - top + 2 * pad)
        draw.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=plate)
        draw.text((16 + pad - left, y + pad - top), text, font=font, fill=ink)
        boxes.append(box)
        y = box[3] + 24
    return np.asarray(image), boxes


def coverage(mask: np.ndarray, box) -> float:
    left, top, right, bottom = box
    return float(mask[top:bottom, left:right].mean())


def overlap(box, plate) -> float:
    """Share of ``plate`` inside ``box`` (both left, top, right, bottom)."""
    width = min(box[2], plate[2]) - max(box[0], plate[0])
    height = min(box[3], plate[3]) - max(box[1], plate[1])
    return max(0, width) * max(0, height) / ((plate[2] - plate[0]) * (plate[3] - plate[1]))


def outside(mask: np.ndarray, boxes, margin: int = 24) -> np.ndarray:
    """``mask`` with every box (grown by ``margin``) cleared: what lies away from the text."""
    rest = mask.copy()
    for left, top, right, bottom in boxes:
        rest[max(0, top - margin) : bottom + margin, max(0, left - margin) : right + margin] = False
    return rest


@pytest.fixture(scope="module")
def detector() -> TextDetector:
    return default_detector()


@pytest.fixture(scope="module")
def coffee_text():
    return rendered(np.ascontiguousarray(skdata.coffee()))


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    return np.ascontiguousarray(skdata.page())


# --- the detector ------------------------------------------------------------------------------------


def test_the_default_detector_is_the_shipped_student():
    network = textdet.student_network()
    assert network.path.is_file() and network.path.name == textdet.STUDENT_FILE
    assert network.path.parent.name == "models" and "segpress" in network.path.parts
    assert network.scale == textdet.DEFAULT_SCALE  # the JSON and the CLI's default agree
    built = TextDetector()
    assert built.path == network.path and built.scale == network.scale
    assert (built.threshold, built.unclip_ratio) == (network.threshold, network.unclip_ratio)
    assert "text student" in textdet.describe()


def test_ppocr_comes_from_the_installed_package():
    path = textdet.model_file(textdet.DETECTOR_FILE)
    assert path.is_file() and path.suffix == ".onnx"
    assert "rapidocr_onnxruntime" in path.parts
    assert textdet.ppocr_network("float32").path == path


def test_ppocr_in_int8_is_built_once_and_cached(tmp_path, monkeypatch, coffee_text):
    monkeypatch.setenv("SEGPRESS_CACHE_DIR", str(tmp_path / "cache"))
    built = TextDetector(textdet.ppocr_network())
    assert built.path.parent == tmp_path / "cache" and built.path.name.startswith("ppocrv4-det-int8-")
    assert built.scale == textdet.PPOCR_SCALE
    stamp = built.path.stat().st_mtime_ns
    assert TextDetector(textdet.ppocr_network()).path == built.path and built.path.stat().st_mtime_ns == stamp  # not built again
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [built.path.name]  # no temporary files left
    full = TextDetector(textdet.ppocr_network("float32"))
    # Both find the rendered lines (the plates' margins, a third of the font size, lie partly outside the
    # lines' regions: float32 at 0.75 covers 70 % of the 28 px line's plate, all of its ink).
    pixels, boxes = coffee_text
    for found in (built.detect(pixels), full.detect(pixels)):
        assert all(coverage(found.regions, box) > 0.65 for box in boxes)
    with pytest.raises(OptionError, match="precision must be one of int8, float32"):
        textdet.ppocr_network("fp16")


def test_without_onnx_the_int8_ppocr_build_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGPRESS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    with pytest.raises(OptionError, match=r"built with onnx, which is not installed: pip install 'segpress\[text\]'"):
        textdet.ppocr_network()
    assert TextDetector().detect(np.zeros((64, 64, 3), np.uint8)).share == 0  # the student needs neither


def test_an_unwritable_cache_builds_in_a_private_folder(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("SEGPRESS_CACHE_DIR", str(blocker / "cache"))
    built = TextDetector(textdet.ppocr_network())
    assert built.path.is_file() and not str(built.path).startswith(str(blocker))


def test_working_size_is_scaled_bounded_and_a_multiple_of_32(detector):
    for height, width in ((1, 1), (37, 1001), (480, 640), (3000, 4000), (12000, 300), (100000, 100000)):
        rows, cols = detector.working_size(height, width)
        assert rows % 32 == 0 and cols % 32 == 0
        assert 32 <= rows <= detector.max_side and 32 <= cols <= detector.max_side
    assert detector.scale == 0.75 and detector.working_size(480, 640) == (352, 480)  # 0.75 x 480 = 360 -> 352 (32 x 11.25)
    assert detector.working_size(3024, 4032) == (2272, 3008)  # a 12 MP photo keeps the scale
    assert TextDetector(scale=1.0).working_size(475, 650) == (480, 640)  # sides to the nearest multiple of 32
    assert max(detector.working_size(6000, 8000)) == detector.max_side // 32 * 32


def test_rendered_text_on_a_photo_is_found_and_the_photo_elsewhere_is_not(detector, coffee_text):
    pixels, boxes = coffee_text
    found = detector.detect(pixels)
    assert found.regions.shape == pixels.shape[:2] and found.regions.dtype == bool
    for box in boxes:
        assert coverage(found.regions, box) > 0.7, box
    assert outside(found.regions, boxes).mean() < 0.002
    assert found.probability.shape == pixels.shape[:2]
    assert 0 <= found.probability.min() and found.probability.max() <= 1
    # One box per line, around its plate. (Bicubic resampling also finds a sliver of wood grain between
    # the two lower plates: what lies within 24 px of a plate is not checked above.)
    for plate in boxes:
        (left, top, right, bottom), = [box for box in found.boxes if overlap(box, plate) > 0.5]
        assert left <= plate[0] + 8 and top <= plate[1] + 8 and right >= plate[2] - 8 and bottom >= plate[3] - 8
    assert found.seconds > 0 and 0 < found.share < 0.2


def test_a_photo_without_text_has_no_text_regions(detector):
    found = detector.detect(np.ascontiguousarray(skdata.chelsea()))
    assert found.share == 0 and found.boxes == []


@pytest.mark.parametrize(("height", "width"), [(5, 7), (33, 1001), (417, 31), (61, 97)])
def test_any_image_size_and_grey_images(detector, height, width):
    rng = np.random.default_rng(height)
    grey = rng.integers(0, 255, (height, width), dtype=np.uint8)
    found = detector.detect(grey)
    assert found.regions.shape == (height, width) and found.probability.shape == (height, width)


def test_large_images_run_at_a_bounded_working_size():
    small = TextDetector(max_side=256)
    pixels, boxes = rendered(np.full((900, 1400, 3), 205, np.uint8), lines=(("CITY CENTRE 3", 96),))
    found = small.detect(pixels)
    assert max(found.working_probability.shape) == 256
    assert coverage(found.regions, boxes[0]) > 0.6


@pytest.mark.parametrize("length", [1056, 1500, 2240, 3008, 9000])
def test_tiles_cover_each_side_once_with_context_on_inner_sides(length):
    tiles = textdet.detector._tiles(length, textdet.TILE_SIDE)
    kept = np.zeros(length, int)
    for keep, run in tiles:
        kept[keep] += 1
        assert run.start <= keep.start and keep.stop <= run.stop <= length
        assert (run.stop - run.start) % 32 == 0 and run.stop - run.start <= textdet.TILE_SIDE
        assert keep.start == 0 or keep.start - run.start >= textdet.TILE_OVERLAP // 2
        assert keep.stop == length or run.stop - keep.stop >= textdet.TILE_OVERLAP // 2
    assert (kept == 1).all()
    assert len(tiles) == max(1, -(-(length - textdet.TILE_OVERLAP) // (textdet.TILE_SIDE - textdet.TILE_OVERLAP)))


def test_large_working_images_run_in_tiles_that_find_what_one_run_finds():
    pixels, boxes = rendered(np.full((880, 1600, 3), 205, np.uint8),
                             lines=(("CITY CENTRE 3 NORTH GATE", 40), ("KA 4821 XT", 28), ("OPEN 9-17h", 20)))
    pixels = np.ascontiguousarray(np.roll(pixels, (300, 500), axis=(0, 1)))  # lines across the tiles' seams
    boxes = [(left + 500, top + 300, right + 500, bottom + 300) for left, top, right, bottom in boxes]
    whole = TextDetector(scale=0.75, tile_side=1600).detect(pixels)
    calls = []
    tiled = TextDetector(scale=0.75, tile_side=512)
    run = tiled._run
    tiled._run = lambda tensor: calls.append(tensor.shape) or run(tensor)
    found = tiled.detect(pixels)
    assert found.working_probability.shape == whole.working_probability.shape == (672, 1216)
    assert len(calls) == 2 * 3 and all(max(shape[2:]) <= 512 for shape in calls)
    assert len(found.boxes) == len(whole.boxes) == len(boxes)
    for box in boxes:
        assert coverage(found.regions, box) > 0.6
    for box, same in zip(found.boxes, whole.boxes, strict=True):
        assert max(abs(a - b) for a, b in zip(box, same)) <= 4
    assert np.abs(found.working_probability - whole.working_probability).mean() < 0.01


def test_bad_pixels_and_settings_are_errors(detector):
    with pytest.raises(segpress.InputError, match="uint8"):
        detector.detect(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(segpress.InputError, match="no pixels"):
        detector.detect(np.zeros((0, 8), np.uint8))
    with pytest.raises(OptionError, match="scale"):
        TextDetector(scale=0)
    with pytest.raises(OptionError, match="max_side"):
        TextDetector(max_side=8)
    with pytest.raises(OptionError, match="tile_side"):
        TextDetector(tile_side=1000)


def test_db_post_processing_grows_cores_and_drops_weak_or_thin_ones():
    probability = np.zeros((60, 200), np.float32)
    probability[28:32, 20:180] = 0.9  # a line's core: 4 x 160
    probability[10:14, 20:60] = 0.35  # above the pixel threshold, below the mean score 0.5
    probability[50, 100:140] = 0.9  # one pixel thin (after the 2x2 dilation: 2): noise
    regions = text_regions(probability)
    # The core, dilated to 5 x 161 (rows 27-31, columns 19-179), grows by area * 1.6 / perimeter
    # = 805 * 1.6 / 328 ~ 3.9 px on every side.
    assert np.flatnonzero(regions[:, 100]).tolist() == list(range(24, 35))
    assert np.flatnonzero(regions[30]).tolist() == list(range(16, 183))
    assert not regions[10:14, 20:60].any()
    assert not regions[48:53, 100:140].any()
    assert not text_regions(np.zeros((40, 40), np.float32)).any()


# --- a real photo with text, and recognition ---------------------------------------------------------


def test_the_page_photo_heading_is_found_and_read(detector, page):
    found = detector.detect(page)
    assert coverage(found.regions, PAGE_HEADING) > 0.8
    assert read_text(page, [PAGE_HEADING]) == ["Region-based segmentation"]


def test_text_source_keeps_the_page_heading_readable_where_the_background_is_crushed(page):
    result = segpress.compress(page, importance=np.zeros(page.shape, np.float32), text=True, bg_quality=1,
                               compare=False)
    assert result.source == "array+text"
    decoded = decode_like(codecs.get("jpeg"), result.data, page)
    assert read_text(decoded, [PAGE_HEADING]) == ["Region-based segmentation"]
    # Without text everything is background quality 1: the same heading is far noisier.
    plain = segpress.compress(page, importance=np.zeros(page.shape, np.float32), bg_quality=1, compare=False)
    heading = np.zeros(page.shape, bool)
    heading[PAGE_HEADING[1] : PAGE_HEADING[3], PAGE_HEADING[0] : PAGE_HEADING[2]] = True
    plain_decoded = decode_like(codecs.get("jpeg"), plain.data, page)
    assert psnr(page, decoded, heading) > psnr(page, plain_decoded, heading) + 8


def test_recogniser_reads_rendered_lines(coffee_text):
    pixels, boxes = coffee_text
    assert [squeeze(t) for t in read_text(pixels, boxes)] == [squeeze(t) for t, _ in LINES]
    assert read_text(pixels, []) == []
    with pytest.raises(segpress.InputError, match="no pixels"):
        read_text(pixels, [(10, 10, 10, 20)])


def agreement(reference: list[str], other: list[str]) -> float:
    """Mean over lines of 1 - edit distance / reference length, whitespace ignored (as benchmarks/text.py)."""
    scores = []
    for ref, got in zip(reference, other, strict=True):
        ref, got = squeeze(ref), squeeze(got)
        row = list(range(len(got) + 1))
        for i, a in enumerate(ref, 1):
            row, previous = [i], row
            for j, b in enumerate(got, 1):
                row.append(min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a != b)))
        scores.append(max(0.0, 1 - row[-1] / len(ref)))
    return sum(scores) / len(scores)


def test_at_equal_size_text_stays_readable_where_uniform_jpeg_does_not(coffee_text):
    """What the text source is for, on one image: at the size of the uniform file that loses the text, the text source keeps it."""
    pixels, boxes = coffee_text
    # On libjpeg-turbo alone: jpegli (the jpeg codec's core where installed) keeps this text readable
    # even at its lowest quality (7.6 KB here), and its files cannot get as small as this one (4.2 KB).
    codec = codecs.get("jpeg-turbo")
    original = read_text(pixels, boxes)
    assert [squeeze(t) for t in original] == [squeeze(t) for t, _ in LINES]

    def reading(data: bytes) -> list[str]:
        return read_text(decode_like(codec, data, pixels), boxes)

    uniform = codec.encode_uniform(pixels, 4, segpress.CompressOptions().encode_settings())
    assert agreement(original, reading(uniform)) < 0.85
    text_first = segpress.compress(pixels, policy="text", target_size=len(uniform), compare=False, format=codec.name)
    assert text_first.size <= len(uniform)
    assert agreement(original, reading(text_first.data)) >= 0.95
    text_only = segpress.compress(pixels, importance=np.zeros(pixels.shape[:2], np.float32), text=True,
                                  target_size=len(uniform), compare=False, format=codec.name)
    assert text_only.size <= len(uniform)
    assert [squeeze(t) for t in reading(text_only.data)] == [squeeze(t) for t in original]


# --- importance: policies, combination, the API --------------------------------------------------------


def test_combine_is_the_maximum_of_weighted_maps():
    a = np.array([[0.2, 1.0], [0.0, 0.5]], np.float32)
    b = np.array([[1.0, 0.0], [0.0, 0.25]], np.float32)
    assert combine([(1.0, a), (0.5, b)]).tolist() == [[0.5, 1.0], [0.0, 0.5]]
    assert combine([(1.0, a)]).tolist() == a.tolist()
    assert combine([(0.5, np.ones((2, 2), bool))]).tolist() == [[0.5, 0.5], [0.5, 0.5]]
    with pytest.raises(segpress.InputError, match="shapes"):
        combine([(1.0, a), (1.0, np.zeros((3, 3), np.float32))])
    with pytest.raises(OptionError):
        combine([(1.5, a)])


def test_a_detection_made_before_is_used_as_it_is(coffee_text):
    pixels, boxes = coffee_text
    found = segpress.detect_text(pixels)
    again = segpress.compress(pixels, text=found, compare=False)
    assert again.data == segpress.compress(pixels, text=True, compare=False).data
    with pytest.raises(OptionError, match="is for a"):
        segpress.compress(pixels[:200], text=found, compare=False)


def test_policy_sources_table(tmp_path):
    path = tmp_path / "signs.toml"
    path.write_text("[weights]\nperson = 1.0\n\n[sources]\nclasses = 0.4\ntext = 1.0\n")
    policy = load_policy(path)
    assert dict(policy.sources) == {"classes": 0.4, "text": 1.0}
    assert (policy.source_weight("classes"), policy.source_weight("mask"), policy.source_weight("text")) == (0.4, 1.0, 1.0)
    assert policy.text_by_default
    yaml_path = tmp_path / "signs.yaml"
    yaml_path.write_text("weights: {person: 1}\nsources: {text: 0.7}\n")
    assert load_policy(yaml_path).sources == {"text": 0.7}
    assert not PRESETS["default"].text_by_default and PRESETS["default"].sources == {}
    assert PRESETS["text"].text_by_default and PRESETS["text"].source_weight("classes") == 0.3
    assert PRESETS["text"].weights == PRESETS["default"].weights


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("[weights]\n[sources]\nletters = 1\n", ["unknown source 'letters'", "classes, mask, text"]),
        ("[weights]\n[sources]\ntext = 2\n", ["source 'text'", "[0, 1]"]),
        ("[weights]\n[sources]\ntext = true\n", ["source 'text'"]),
        ("sources = 1\n[weights]\n", ["'sources'"]),
    ],
)
def test_bad_sources_are_one_line_option_errors(tmp_path, text, fragments):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(OptionError) as error:
        load_policy(path)
    assert "\n" not in str(error.value) and "bad.toml" in str(error.value)
    for fragment in fragments:
        assert fragment in str(error.value)


def test_when_text_runs():
    default, text_first = PRESETS["default"], PRESETS["text"]
    never = Policy(name="never", weights={}, sources={"text": 0.0})
    assert (wants_text(None, default), wants_text(None, text_first), wants_text(False, text_first)) == (False, True, False)
    assert wants_text(True, default) and not wants_text(None, never) and not wants_text(False, never)
    with pytest.raises(OptionError, match="weighs text 0"):
        wants_text(True, never)


def test_a_policy_sets_the_detectors_scale_and_text_scale_overrides_it(monkeypatch, coffee_text):
    # The presets run the shipped detector at its own scale; a policy may ask for another.
    assert PRESETS["text"].text_scale is None and PRESETS["default"].text_scale is None
    fine = dataclasses.replace(PRESETS["text"], name="text-fine", text_scale=1.25)
    preset = fine.text_scale
    assert textdet.detector_for(True, policy_scale=preset).scale == preset
    assert textdet.detector_for(True, 0.8, policy_scale=preset).scale == 0.8
    assert textdet.detector_for(True).scale == textdet.DEFAULT_SCALE
    assert textdet.default_detector() is textdet.default_detector(textdet.DEFAULT_SCALE)  # one session per scale
    asked = []
    monkeypatch.setattr(importance_sources, "default_detector", lambda scale=None: asked.append(scale) or default_detector(scale))
    segpress.compress(coffee_text[0], policy=fine, compare=False)
    segpress.compress(coffee_text[0], text=True, compare=False)
    assert asked == [preset, None]
    for bad in (0, 5, True, "1"):
        with pytest.raises(OptionError, match="text_scale"):
            Policy(name="bad", weights={}, text_scale=bad)


def test_build_importance_adds_text_to_a_mask(coffee_text):
    pixels, boxes = coffee_text
    image = load_image(pixels)
    mask = np.zeros(pixels.shape[:2], np.float32)
    mask[300:380, 400:560] = 1.0
    plain = build_importance(image, importance=mask)
    assert plain.text is None and plain.source == "array"
    both = build_importance(image, importance=mask, text=True)
    assert both.source == "array+text" and both.text is not None
    assert both.region[300:380, 400:560].all()
    for box in boxes:
        assert coverage(both.region, box) > 0.7
    assert both.regions["text"] == pytest.approx(both.text.share)
    assert outside(both.region & (mask == 0), boxes).mean() < 0.002
    # A text weight of 0.4 scales the text regions down, under the region threshold; the mask weight too.
    weak = Policy(name="weak", weights={}, sources={"text": 0.4, "mask": 0.5})
    weighted = build_importance(image, importance=mask, text=True, policy=weak, margin=0, feather=0, min_area=0)
    assert weighted.values.max() == pytest.approx(0.5)
    left, top, right, bottom = boxes[0]
    assert weighted.values[top:bottom, left:right].max() == pytest.approx(0.4)


def test_text_first_preset_outranks_classes(coffee_text):
    pixels, boxes = coffee_text
    chosen = build_importance(load_image(pixels), policy="text")
    assert chosen.source.endswith("+text")
    for box in boxes:
        left, top, right, bottom = box
        assert np.median(chosen.values[top:bottom, left:right]) == 1.0
    assert chosen.values[outside(np.ones(pixels.shape[:2], bool), boxes, margin=40)].max() <= 0.5 + 1e-6


def test_a_detector_of_your_own(coffee_text):
    pixels, _ = coffee_text
    own = TextDetector(scale=0.3)
    result = segpress.compress(pixels, importance=np.zeros(pixels.shape[:2], np.float32), text=own, compare=False)
    assert result.source == "array+text" and result.text_seconds is not None


# --- without the extra --------------------------------------------------------------------------------


@pytest.fixture
def without_extra(monkeypatch):
    """segpress as it is without ``segpress[text]``: the distribution is not installed."""

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    textdet.shared._loaded_detector.cache_clear()
    textdet.reading._recogniser.cache_clear()
    monkeypatch.setattr(textdet.models.metadata, "files", missing)
    yield
    textdet.shared._loaded_detector.cache_clear()
    textdet.reading._recogniser.cache_clear()


def test_without_the_extra_text_is_still_found_and_only_reading_names_it(without_extra, coffee_text):
    pixels, boxes = coffee_text
    # Detection runs the shipped student: no registry package needed.
    assert segpress.compress(pixels, text=True, compare=False).source.endswith("+text")
    assert all(coverage(segpress.detect_text(pixels).regions, box) > 0.6 for box in boxes)
    with pytest.raises(OptionError) as error:  # reading text (benchmarks, checks) needs the package's recogniser
        read_text(pixels, [(0, 0, 10, 10)])
    assert "pip install 'segpress[text]'" in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(OptionError, match=r"pip install 'segpress\[text\]'"):
        textdet.ppocr_network()


@pytest.mark.parametrize("command", [["compress", "-o", "out.jpg", "--text", "--no-compare"],
                                     ["segment", "-o", "out/", "--text"], ["batch", "out", "--policy", "text"]])
def test_without_the_extra_the_cli_finds_text(without_extra, capsys, tmp_path, monkeypatch, coffee_text, command):
    monkeypatch.chdir(tmp_path)
    Image.fromarray(coffee_text[0]).save("in.png")
    assert main([command[0], "in.png", *command[1:]]) == 0, capsys.readouterr().err


def test_formats_names_the_text_detector(capsys):
    assert main(["formats"]) == 0
    assert "text detector: segpress text student" in capsys.readouterr().out


# --- the command line -------------------------------------------------------------------------------


def test_cli_compress_with_text(capsys, tmp_path, coffee_text):
    source = tmp_path / "sign.png"
    Image.fromarray(coffee_text[0]).save(source)
    assert main(["compress", str(source), "-o", str(tmp_path / "t.jpg"), "--text", "--no-compare", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["source"].endswith("+text") and report["text_seconds"] > 0
    assert main(["compress", str(source), "-o", str(tmp_path / "p.jpg"), "--policy", "text", "--no-text",
                 "--no-compare", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "+text" not in report["source"] and report["text_seconds"] is None


def test_cli_text_scale(capsys, tmp_path, coffee_text):
    source = tmp_path / "sign.png"
    Image.fromarray(coffee_text[0]).save(source)
    assert main(["compress", str(source), "-o", str(tmp_path / "fine.jpg"), "--text", "--text-scale", "0.8",
                 "--no-compare", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["source"].endswith("+text")
    assert default_detector(0.8).scale == 0.8
    assert main(["segment", str(source), "-o", str(tmp_path / "seg") + "/", "--text", "--text-scale", "1"]) == 0
    capsys.readouterr()
    for command, why in ((["compress", "-o", str(tmp_path / "x.jpg"), "--text-scale", "0.8"], "applies only with --text"),
                         (["segment", "-o", str(tmp_path / "x") + "/", "--text-scale", "0.8"], "applies only with --text"),
                         (["compress", "-o", str(tmp_path / "x.jpg"), "--text", "--text-scale", "0"], "scale must be in (0, 4]"),
                         (["segment", "-o", str(tmp_path / "x") + "/", "--text", "--text-scale", "nan"], "scale must be in (0, 4]")):
        assert main([command[0], str(source), *command[1:]]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and why in err and "\n" not in err
    assert not (tmp_path / "x.jpg").exists() and not (tmp_path / "x").exists()


def test_cli_segment_outlines_text_in_the_overlay(capsys, tmp_path, coffee_text):
    pixels, boxes = coffee_text
    source = tmp_path / "sign.png"
    Image.fromarray(pixels).save(source)
    assert main(["segment", str(source), "-o", str(tmp_path / "plain") + "/"]) == 0
    capsys.readouterr()
    assert main(["segment", str(source), "-o", str(tmp_path / "text") + "/", "--text", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["shares"]["text"] > 0
    assert all(any(overlap(box, plate) > 0.5 for box in report["text"]["boxes"]) for plate in boxes)
    plain = np.asarray(Image.open(tmp_path / "plain" / "sign-overlay.png").convert("RGB"))
    marked = np.asarray(Image.open(tmp_path / "text" / "sign-overlay.png").convert("RGB"))
    assert marked.shape[0] > pixels.shape[0]  # the legend strip
    left, top, right, _ = report["text"]["boxes"][0]
    assert (marked[top, left + 5 : right - 5] == render.TEXT_COLOUR).all()  # the white frame's top edge
    assert not (plain[top, left + 5 : right - 5] == render.TEXT_COLOUR).all()
    # The legend strip has a "text" entry: a white swatch that the plain overlay's legend lacks.
    assert not np.array_equal(plain[pixels.shape[0] :], marked[pixels.shape[0] : plain.shape[0]])


# --- the benchmark's scenes (benchmarks/text_scenes.py, scikit-image backgrounds only) ---------------


@pytest.fixture(scope="module")
def text_scenes():
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "text_scenes.py"
    spec = importlib.util.spec_from_file_location("text_scenes", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("text_scenes", module)
    spec.loader.exec_module(module)
    return module


def test_benchmark_scenes_are_reproducible_and_their_lines_lie_apart_in_the_frame(text_scenes):
    first = text_scenes.render_scene(101, 0, text_scenes.background_pool(None, heldout=True))
    again = text_scenes.render_scene(101, 0, text_scenes.background_pool(None, heldout=True))
    assert np.array_equal(first.pixels, again.pixels) and first.lines == again.lines
    assert first.pixels.shape == (text_scenes.HEIGHT, text_scenes.WIDTH, 3)
    assert len(first.lines) >= 3
    for line in first.lines:
        left, top, right, bottom = line.box
        assert 0 <= left < right <= text_scenes.WIDTH and 0 <= top < bottom <= text_scenes.HEIGHT
        assert line.size in text_scenes.SIZES and abs(line.angle) <= text_scenes.MAX_ROTATION
        assert line.font in text_scenes.FONTS
    other = text_scenes.render_scene(102, 0, text_scenes.background_pool(None, heldout=True))
    assert not np.array_equal(first.pixels, other.pixels)


def test_choosing_and_heldout_scenes_share_no_seed_and_no_background(text_scenes):
    assert not set(text_scenes.CHOOSING_SEEDS) & set(text_scenes.HELDOUT_SEEDS)
    choosing = set(text_scenes.background_pool(None, heldout=False))
    heldout = set(text_scenes.background_pool(None, heldout=True))
    assert choosing and heldout and not choosing & heldout
    assert all(text_scenes.font_path(name).is_file() for name in text_scenes.FONTS)  # shipped with matplotlib
