"""The segmentation model at inference: ``segpress.segmenters``, ``segpress.segment``, model-driven
``compress``, the ``segment`` command, user model configs, and the shipped model's metadata.

Everything runs the shipped ONNX model (onnxruntime, CPU) on scikit-image photos. The last tests,
marked ``subject_accuracy``, check what the model *says* about the main subjects of ordinary photos that
ship inside installed packages (``tests/subject_photos.py``), against masks drawn by hand; they are
meant for the final shipped model (run them alone with ``pytest -m subject_accuracy``).
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata
from subject_photos import PHOTOS

import segpress
from segpress import InputError, OptionError
from segpress.api import build_importance, model_importance
from segpress.cli import main
from segpress.imageio import load_image
from segpress.importance import from_probabilities
from segpress.policy import load_policy
from segpress.segmenters import (
    UNLABELLED,
    OnnxSegmenter,
    Segmentation,
    default_segmenter,
    load_segmenter,
)
from segpress.segmenters.card import model_card
from segpress.segmenters.loading import config_from_metadata, read_metadata, shipped_model_dir
from segpress.segmenters.render import PALETTE
from segpress.taxonomy import CLASSES

DATA = Path(__file__).parent / "data"
MODEL_DIR = shipped_model_dir()
MODEL = MODEL_DIR / "segmenter.onnx"
METADATA = read_metadata(MODEL_DIR / "segmenter.json")


@pytest.fixture(scope="module")
def segmenter() -> OnnxSegmenter:
    return default_segmenter(threads=2)


@pytest.fixture(scope="module")
def cat() -> np.ndarray:
    return np.ascontiguousarray(skdata.chelsea())  # 451x300


def write_png(path: Path, pixels: np.ndarray) -> Path:
    Image.fromarray(pixels).save(path)
    return path


def user_config(tmp_path: Path, body: str, name: str = "model.toml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def toml_list(values) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


# --- the shipped model ----------------------------------------------------------------------------


def test_shipped_metadata_matches_the_model_and_the_card():
    """segmenter.onnx, segmenter.json and MODEL_CARD.md must come from the same export."""
    blob = MODEL.read_bytes()
    assert METADATA["categories"] == list(CLASSES)
    assert METADATA["file_size"] == len(blob)
    assert METADATA["sha256"] == hashlib.sha256(blob).hexdigest()
    assert len(METADATA["input"]["mean"]) == len(METADATA["input"]["std"]) == 3
    assert 0 < METADATA["metrics"]["miou"] <= 1 and METADATA["data_terms"]
    card = (MODEL_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert card == model_card(METADATA), "run: python -m segpress.segmenters.card"
    assert tuple(PALETTE) == CLASSES  # one overlay colour per class, in taxonomy order


def test_default_segmenter_is_loaded_once(capsys):
    assert default_segmenter() is default_segmenter()
    assert load_segmenter("default") is default_segmenter()
    assert default_segmenter().name == METADATA["name"]
    assert main(["formats"]) == 0
    assert f"segmenter: {METADATA['name']}" in capsys.readouterr().out


def test_compressing_with_the_model_never_imports_torch(tmp_path):
    """Inference is onnxruntime only: torch (the train extra) must stay unimported."""
    script = (
        "import sys, segpress\n"
        "from skimage import data\n"
        "result = segpress.compress(data.chelsea()[:64, :96], compare=False)\n"
        "assert result.source.startswith('model:'), result.source\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=tmp_path, timeout=120)


# --- OnnxSegmenter --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "crop",
    [(slice(0, 97), slice(0, 131)), (slice(None), slice(None)), (slice(3, 10), slice(0, 5))],
    ids=["97x131", "full 300x451", "tiny 7x5"],
)
def test_output_shapes_and_probabilities(segmenter, cat, crop):
    pixels = np.ascontiguousarray(cat[crop])
    height, width = pixels.shape[:2]
    result = segmenter.segment(pixels)
    assert isinstance(result, Segmentation) and result.shape == (height, width)
    working = result.working_probabilities
    assert working.shape[0] == len(CLASSES)
    assert max(working.shape[1:]) == min(480, max(height, width))  # aspect kept, never enlarged
    assert working.shape[1] / working.shape[2] == pytest.approx(height / width, rel=0.02)
    probabilities = result.probabilities
    assert probabilities.shape == (len(CLASSES), height, width) and probabilities.dtype == np.float32
    assert probabilities.min() >= 0
    np.testing.assert_allclose(probabilities.sum(axis=0), 1, atol=1e-4)
    labels = result.labels
    assert labels.shape == (height, width) and labels.dtype == np.uint8 and labels.max() < len(CLASSES)
    assert (labels == probabilities.argmax(axis=0)).mean() > 0.999  # strips vs whole: rounding only
    assert result.seconds > 0 and result.model == METADATA["name"]
    # Class shares without full-size labels: the working resolution's argmax, covering about the same shares.
    working_labels = result.working_labels
    assert working_labels.shape == working.shape[1:] and working_labels.dtype == np.uint8
    np.testing.assert_array_equal(working_labels, working.argmax(axis=0))
    for index in np.unique(labels):
        assert (working_labels == index).mean() == pytest.approx((labels == index).mean(), abs=0.02)


def test_grey_images_are_segmented_as_rgb(segmenter):
    grey = np.ascontiguousarray(skdata.camera()[::3, ::2])  # 171x256 grey
    result = segmenter.segment(grey)
    rgb = segmenter.segment(np.repeat(grey[..., None], 3, axis=2))
    assert result.labels.shape == grey.shape
    np.testing.assert_allclose(result.working_probabilities, rgb.working_probabilities, atol=1e-6)


def test_a_batch_gives_what_single_images_give(segmenter, cat):
    mirrored = np.ascontiguousarray(cat[:, ::-1])  # same working size as cat: shares its run
    other = np.ascontiguousarray(skdata.astronaut()[::2, ::2])
    batch = segmenter.segment_batch([cat, other, mirrored])
    for image, result in zip([cat, other, mirrored], batch, strict=True):
        single = segmenter.segment(image)
        np.testing.assert_allclose(result.working_probabilities, single.working_probabilities, atol=2e-5)
        assert result.shape == image.shape[:2]
    assert segmenter.segment_batch([]) == []


def test_tiles_label_like_a_whole_image():
    """A large working image (no max_side) run as 256x256 tiles agrees with one untiled run."""
    photo = np.ascontiguousarray(skdata.astronaut())  # 512x512
    config = replace(config_from_metadata(METADATA), max_side=None)
    whole = OnnxSegmenter(MODEL, config, threads=2).segment(photo)
    tiled = OnnxSegmenter(MODEL, replace(config, tile_pixels=256 * 256, overlap=64), threads=2).segment(photo)
    np.testing.assert_allclose(tiled.working_probabilities.sum(axis=0), 1, atol=1e-4)
    assert (tiled.labels == whole.labels).mean() > 0.85


def test_model_importance_equals_weighting_full_resolution_probabilities(segmenter, cat):
    """For the (linear) expected rule, weighting before resampling (what compress does) equals weighting
    the resampled probabilities; the other rules decide at the working resolution, one map resampled."""
    result = segmenter.segment(cat)
    policy = load_policy("default")
    expected = from_probabilities(result.probabilities, CLASSES, policy, rule="expected")
    np.testing.assert_allclose(model_importance(result, policy, rule="expected"), expected, atol=1e-5)
    working = from_probabilities(result.working_probabilities, CLASSES, policy)
    np.testing.assert_allclose(model_importance(result, policy), result.upsample(working), atol=1e-6)


# --- API and CLI ----------------------------------------------------------------------------------


def test_compress_without_a_mask_uses_the_model(cat):
    result = segpress.compress(cat, compare=False)
    assert result.source == f"model:{METADATA['name']}"
    assert result.segment_seconds > 0 and result.encode_seconds > 0
    summary = result.summary()
    assert summary["segment_seconds"] == result.segment_seconds and summary["source"] == result.source
    importance = build_importance(load_image(cat))
    assert importance.segmentation is not None and importance.source == result.source
    assert importance.region.mean() == pytest.approx(result.important_fraction)
    weights = load_policy("default").weights
    assert importance.regions and all(weights.get(name, 0) > 0 for name in importance.regions)
    assert sum(importance.regions.values()) <= 1 + 1e-9


def test_segment_api_takes_paths_segmenters_and_configs(tmp_path, cat, segmenter):
    path = write_png(tmp_path / "cat.png", cat)
    by_path = segpress.segment(path)
    assert by_path.shape == cat.shape[:2]
    np.testing.assert_array_equal(segpress.segment(cat, segmenter).labels, by_path.labels)
    with pytest.raises(OptionError, match="segmenter"):
        segpress.segment(cat, segmenter=42)
    with pytest.raises(OptionError, match="only without"):
        segpress.compress(cat, mask=np.ones(cat.shape[:2], bool), segmenter=segmenter)


def test_cli_segment_writes_a_label_map_and_an_overlay(capsys, tmp_path, cat):
    photo = write_png(tmp_path / "cat.png", cat)
    grey = write_png(tmp_path / "camera.png", np.ascontiguousarray(skdata.camera()[::4, ::4]))
    out = tmp_path / "out"
    assert main(["segment", str(photo), str(grey), "-o", str(out), "--json"]) == 0
    printed = capsys.readouterr().out
    for source, pixels in ((photo, cat), (grey, skdata.camera()[::4, ::4])):
        height, width = pixels.shape[:2]
        with Image.open(out / f"{source.stem}-labels.png") as labels:
            assert labels.mode == "P" and labels.size == (width, height)
            values = np.asarray(labels)
            assert ((values < len(CLASSES)) | (values == UNLABELLED)).all()
            assert tuple(labels.getpalette()[3 * CLASSES.index("person") : 3 * CLASSES.index("person") + 3]) \
                == PALETTE["person"]
        with Image.open(out / f"{source.stem}-overlay.png") as overlay:
            assert overlay.mode == "RGB" and overlay.width == width and overlay.height > height
    report = json.loads(printed[: printed.index("}\n{") + 1]) if "}\n{" in printed else json.loads(printed)
    assert report["labels"].endswith("cat-labels.png") and abs(sum(report["shares"].values()) - 1) < 1e-9
    # The label map is what compress --labels reads.
    assert main(["compress", str(photo), "--labels", str(out / "cat-labels.png"), "-o", str(tmp_path / "a.jpg"),
                 "--no-compare"]) == 0


def test_cli_segment_names_and_refusals(capsys, tmp_path, cat):
    photo = write_png(tmp_path / "cat.png", cat)
    assert main(["segment", str(photo), "-o", str(tmp_path / "result.png")]) == 0
    assert (tmp_path / "result-labels.png").is_file() and (tmp_path / "result-overlay.png").is_file()
    capsys.readouterr()
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07 truncated")
    corrupt_config = user_config(tmp_path, f'model = "{corrupt}"\nclasses = ["person"]\n')
    refusals = [
        (["-o", str(tmp_path / "result.png")], 1, "exists"),  # already written; nothing replaced
        (["-o", str(tmp_path / "out"), "--segmenter", str(corrupt_config)], 1, "not a usable ONNX model"),
        (["-o", str(tmp_path / "result.jpg")], 2, "png"),
        (["-o", str(tmp_path / "out"), "--segmenter", str(tmp_path / "none.toml")], 2, "not found"),
        (["-o", str(tmp_path / "out"), "--max-pixels", "0"], 2, "--max-pixels"),
    ]
    for options, code, fragment in refusals:
        assert main(["segment", str(photo), *options]) == code
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err and fragment in err, err
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    assert main(["segment", str(tmp_path / "broken.png"), str(photo), "-o", str(tmp_path / "two")]) == 1
    assert "broken.png" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["cat-labels.png", "cat-overlay.png"]


def test_cli_segment_checks_both_outputs_before_writing_either(capsys, tmp_path, cat):
    """An overlay name that is the input itself: refused with one line, and no label map left behind."""
    photo = write_png(tmp_path / "cat-overlay.png", cat)
    before = photo.read_bytes()
    capsys.readouterr()
    assert main(["segment", str(photo), "-o", str(tmp_path / "cat.png"), "--overwrite"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "is one of the input files" in err, err
    assert photo.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cat-overlay.png"]


def test_cli_compress_uses_the_model_unless_given_a_source(capsys, tmp_path, cat):
    photo = write_png(tmp_path / "cat.png", cat)
    assert main(["compress", str(photo), "-o", str(tmp_path / "cat.jpg"), "--json", "--no-compare"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["source"] == f"model:{METADATA['name']}" and report["segment_seconds"] > 0
    mask = write_png(tmp_path / "mask.png", np.full(cat.shape[:2], 255, np.uint8))
    config = user_config(tmp_path, f'model = "{MODEL}"\nclasses = {toml_list(CLASSES)}\n')
    assert main(["compress", str(photo), "--mask", str(mask), "--segmenter", str(config),
                 "-o", str(tmp_path / "x.jpg")]) == 2
    assert "--segmenter" in capsys.readouterr().err


# --- user models ----------------------------------------------------------------------------------


def test_user_config_renaming_every_class_gives_the_same_result(tmp_path, cat, segmenter):
    renamed = [f"class-{i}" for i in range(len(CLASSES))]
    mapping = "\n".join(f'"{name}" = "{target}"' for name, target in zip(renamed, CLASSES, strict=True))
    mean, std = METADATA["input"]["mean"], METADATA["input"]["std"]
    config = user_config(tmp_path, f"""
name = "renamed"
model = "{MODEL}"
classes = {toml_list(renamed)}
mean = {toml_list(mean)}
std = {toml_list(std)}
[mapping]
{mapping}
""")
    user = load_segmenter(config)
    assert user.name == "renamed" and load_segmenter(config) is user  # cached by path and mtime
    ours, theirs = segmenter.segment(cat), user.segment(cat)
    np.testing.assert_allclose(theirs.working_probabilities, ours.working_probabilities, atol=1e-6)
    assert theirs.unknown is None
    result = segpress.compress(cat, segmenter=config, compare=False)
    assert result.source == "model:renamed"


def test_user_config_merges_and_ignores_classes(tmp_path, cat, segmenter):
    """YAML; bicycle and vehicle both map to vehicle; only person is kept besides; the rest is unknown."""
    names = list(CLASSES)
    names[CLASSES.index("bicycle")] = "bike"
    names[CLASSES.index("vehicle")] = "car"
    config = user_config(tmp_path, "\n".join([
        f"model: {MODEL.name}",
        f"classes: {json.dumps(names)}",
        f"mean: {json.dumps(METADATA['input']['mean'])}",
        f"std: {json.dumps(METADATA['input']['std'])}",
        "mapping: {bike: vehicle, car: vehicle, person: person}",
    ]), name="merged.yaml")
    # The config names the model relative to its own folder.
    (tmp_path / MODEL.name).symlink_to(MODEL)
    ours, theirs = segmenter.segment(cat), load_segmenter(config).segment(cat)
    index = CLASSES.index
    expected = ours.working_probabilities[index("vehicle")] + ours.working_probabilities[index("bicycle")]
    np.testing.assert_allclose(theirs.working_probabilities[index("vehicle")], expected, atol=1e-5)
    np.testing.assert_allclose(theirs.working_probabilities[index("bicycle")], 0)
    np.testing.assert_allclose(theirs.working_probabilities[index("animal")], 0)
    np.testing.assert_allclose(theirs.working_probabilities.sum(axis=0) + theirs.unknown, 1, atol=1e-5)
    assert UNLABELLED in theirs.labels  # the cat is no longer a known class
    assert UNLABELLED in theirs.working_labels and theirs.working_labels.max() == UNLABELLED
    # Unknown probability gets the policy's default weight: 0 in "default", so the cat is background.
    importance = build_importance(load_image(cat), segmenter=config)
    assert importance.region.mean() < build_importance(load_image(cat)).region.mean()
    assert "unlabelled" in theirs.shares()


@pytest.mark.parametrize(
    "body, error, fragment",
    [
        ('model = "missing.onnx"\nclasses = ["person"]\n', OptionError, "model file not found"),
        ('model = "{model}"\nclasses = ["person"\n', OptionError, "cannot parse"),
        ('model = "{model}"\nclasses = ["person"]\ncolour = 1\n', OptionError, "unknown key 'colour'"),
        ('model = "{model}"\n', OptionError, "missing 'classes'"),
        ('model = "{model}"\nclasses = ["human"]\n[mapping]\nhuman = "people"\n', OptionError, "not a taxonomy"),
        ('model = "{model}"\nclasses = ["human"]\n[mapping]\nman = "person"\n', OptionError, "not in 'classes'"),
        ('model = "{model}"\nclasses = ["a", "b"]\n', OptionError, "no class maps"),
        ('model = "{model}"\nclasses = ["person"]\nmax_side = "big"\n', OptionError, "max_side"),
        ('model = "{model}"\nclasses = ["person"]\nstd = [1, 0, 1]\n', OptionError, "positive"),
        ('model = "{model}"\nclasses = ["person", "sky", "road"]\n', InputError, "3 classes"),
        ('model = "{corrupt}"\nclasses = ["person"]\n', InputError, "not a usable ONNX model"),
        ('model = "{model}"\nclasses = ["person"]\nx = ' + "[" * 100_000 + "]" * 100_000 + "\n", OptionError,
         "nested too deeply"),
    ],
    ids=["missing model", "syntax", "unknown key", "no classes", "bad target", "bad source", "nothing mapped",
         "max_side text", "zero std", "class count", "corrupt model", "nested too deeply"],
)
def test_bad_user_configs_give_one_line_errors(tmp_path, body, error, fragment):
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"not an onnx model at all" * 10)
    config = user_config(tmp_path, body.format(model=MODEL, corrupt=corrupt))
    with pytest.raises(error, match=fragment) as raised:
        load_segmenter(config)
    assert "\n" not in str(raised.value)


def test_exported_model_files_must_match(tmp_path):
    (tmp_path / "segmenter.onnx").write_bytes(MODEL.read_bytes()[:-10] + b"0123456789")
    (tmp_path / "segmenter.json").write_text(json.dumps(METADATA))
    with pytest.raises(InputError, match="sha256"):
        load_segmenter(tmp_path / "segmenter.onnx")
    with pytest.raises(OptionError, match="segmenter"):
        load_segmenter(tmp_path / "segmenter.bin")
    (tmp_path / "lonely.onnx").write_bytes(b"")
    with pytest.raises(OptionError, match="no lonely.json"):
        load_segmenter(tmp_path / "lonely.onnx")
    (tmp_path / "orphan.json").write_text(json.dumps(METADATA))
    with pytest.raises(InputError, match="model file not found"):
        load_segmenter(tmp_path / "orphan.json")
    (tmp_path / "garbled.json").write_text("{not json")
    (tmp_path / "garbled.onnx").write_bytes(MODEL.read_bytes())
    with pytest.raises(InputError, match="cannot read the model metadata"):
        load_segmenter(tmp_path / "garbled.onnx")


# --- what the model says about real photos ---------------------------------------------------------

# The main subject of three skimage photos, drawn by hand (tests/data/make_subject_masks.py), and the
# classes that count as right. The taxonomy has no motorcycle: CamVid's "bicyclist" (rider and two-
# wheeler) became "bicycle" and cars, boats and aeroplanes "vehicle"; both classes are protected at
# full weight by the default policy, so either (or a mix) is a right answer for a motorcycle.
SUBJECTS = {
    "chelsea": ("animal",),
    "astronaut": ("person",),
    "motorcycle": ("bicycle", "vehicle"),
}


def subject_mask(name: str) -> np.ndarray:
    with Image.open(DATA / f"subject-{name}.png") as mask_image:
        return np.asarray(mask_image.convert("1"), dtype=bool)


@pytest.mark.subject_accuracy
def test_the_model_finds_the_main_subject_of_real_photos(segmenter):
    """More than half of the subject's pixels get the expected class, in at least two of three photos.

    Meant for the final shipped model; with the 2-epoch stand-in it passed all three (cat 95 % animal,
    astronaut 95 % person, motorcycle 87 % bicycle or vehicle at the 480-pixel working size).
    """
    found = {}
    for name, expected in SUBJECTS.items():
        photo = PHOTOS[name]()
        subject = subject_mask(name)
        assert subject.shape == photo.shape[:2] and 0.05 < subject.mean() < 0.95
        labels = segmenter.segment(photo).labels[subject]
        found[name] = float(np.isin(labels, [CLASSES.index(c) for c in expected]).mean())
    report = ", ".join(f"{name} {100 * share:.0f}%" for name, share in found.items())
    assert sum(share > 0.5 for share in found.values()) >= 2, f"share of subject pixels labelled right: {report}"


# One ordinary photo of each kind people compress (portrait, pet, vehicle, food, ...), from installed
# packages (tests/subject_photos.py), with the subject drawn by hand. "Protected" is the importance region (build_importance's ``region``:
# expected default-policy weight >= 0.5), the pixels the codecs keep at full quality. Most of the subject
# (>= 80 %) must be protected and little of the rest (<= 15 %). The xfails are the shipped model's
# failures, measured with the int8 model shipped in commit c07a4a8 (recall = share of the subject
# protected, background = share of the rest protected); strict, so that a model that fixes one says so.
MIN_SUBJECT_PROTECTED = 0.80
MAX_BACKGROUND_PROTECTED = 0.15
MODEL_FAILS = {
    "hopper": "indoor portrait: most of the flag behind her is protected as person (recall 100 %, background 32.1 %)",
    "rocket": "vehicle: the Falcon 9 is labelled sky 76 % and building 24 % (recall 0 %, background 0.7 %)",
    "ascent": "two people on stairs (grey photo): 72 % of their pixels are labelled furniture (the railing "
              "crosses them), 26 % person (recall 25.8 %, background 0 %)",
    "coffee": "product shot: cup and saucer are labelled furniture (weight 0.1), nothing is protected "
              "(recall 0 %, background 0 %)",
}


@pytest.mark.subject_accuracy
@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xfail(reason=MODEL_FAILS[name], strict=True) if name in MODEL_FAILS else ())
    for name in ("hopper", "macaque", "rocket", "ascent", "coffee")
])
def test_the_protected_region_covers_the_subject_not_the_background(segmenter, name):
    photo = PHOTOS[name]()
    subject = subject_mask(name)
    assert subject.shape == photo.shape[:2] and 0.02 < subject.mean() < 0.95
    region = build_importance(load_image(photo), segmenter=segmenter).region
    recall, background = float(region[subject].mean()), float(region[~subject].mean())
    measured = f"{name}: {100 * recall:.1f}% of the subject protected, {100 * background:.1f}% of the background"
    assert recall >= MIN_SUBJECT_PROTECTED and background <= MAX_BACKGROUND_PROTECTED, measured


@pytest.mark.subject_accuracy
def test_a_landscape_is_hardly_protected(segmenter):
    """Sky, trees, water and a pavilion (building, weight 0.2): no subject, so little is protected."""
    region = build_importance(load_image(PHOTOS["china"]()), segmenter=segmenter).region
    assert region.mean() <= MAX_BACKGROUND_PROTECTED, f"{100 * region.mean():.1f}% of the landscape protected"


def test_overlay_png_decodes(tmp_path, cat, segmenter):
    from segpress.segmenters.render import labels_png, overlay_png

    result = segmenter.segment(cat)
    with Image.open(io.BytesIO(overlay_png(cat, result.labels, result.shares()))) as overlay:
        assert overlay.size[0] == cat.shape[1] and overlay.size[1] > cat.shape[0]
    with Image.open(io.BytesIO(labels_png(result.labels))) as labels:
        np.testing.assert_array_equal(np.asarray(labels), result.labels)
