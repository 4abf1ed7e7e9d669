"""Distillation from the teachers: combining their outputs, the cache, the held-out split, training on
taught photos, scoring a checkpoint and the int8 export.

The teacher networks live in ../shared (never in the repository), so the teach pass runs here with a
stand-in for :class:`segpress.train.teachers.Teachers` that returns planted outputs; everything after
the networks (combination, quantisation, cache, training, export) is the real code.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from segpress.errors import InputError, OptionError  # noqa: E402
from segpress.taxonomy import CLASSES  # noqa: E402
from segpress.train import loop, photos, teachers  # noqa: E402
from segpress.train.config import TrainConfig  # noqa: E402
from segpress.train.data import TrainTransform  # noqa: E402
from segpress.train.export import export_checkpoint  # noqa: E402
from segpress.train.steps import EpochSteps, soft_cross_entropy  # noqa: E402
from segpress.train.teachers import (  # noqa: E402
    MOSAIC_TO_TAXONOMY,
    VOC_TO_TAXONOMY,
    TeacherOutputs,
    TeachSettings,
    combine,
    quantise,
)

MOSAIC = [row[0] for row in MOSAIC_TO_TAXONOMY]
VOC = [row[0] for row in VOC_TO_TAXONOMY]
SETTINGS = TeachSettings()


def _outputs(mosaic: str, voc: str, selfie: float = 0.0, size=(2, 3), sure: float = 8.0) -> TeacherOutputs:
    """Every pixel: MOSAIC's logits peaked on ``mosaic``, VOC's labels and logits on ``voc``."""
    mosaic_logits = np.zeros((len(MOSAIC), *size), np.float32)
    mosaic_logits[MOSAIC.index(mosaic)] = sure
    voc_logits = np.zeros((len(VOC), *size), np.float32)
    voc_logits[VOC.index(voc)] = sure
    return TeacherOutputs(mosaic_logits, np.full(size, VOC.index(voc)), voc_logits, np.full(size, selfie, np.float32))


def _taught(outputs: TeacherOutputs) -> str | None:
    """The combined teacher's class at pixel (0, 0), None for no target."""
    target = combine(outputs, SETTINGS)[:, 0, 0]
    return CLASSES[int(target.argmax())] if target.sum() > 0 else None


# --- the mapping tables and the combination ------------------------------------------------------


def test_every_teacher_class_has_a_row_a_valid_target_and_a_reason():
    assert len(MOSAIC_TO_TAXONOMY) == 32 and len(VOC_TO_TAXONOMY) == 21
    for name, target, why in (*MOSAIC_TO_TAXONOMY, *VOC_TO_TAXONOMY):
        assert target is None or target in CLASSES, name
        assert len(why) > 5, name


@pytest.mark.parametrize(
    ("mosaic", "voc", "selfie", "expected"),
    [
        ("sky", "background", 0.0, "sky"),  # a scene class: MOSAIC teaches
        ("wall", "background", 0.0, "interior"),
        ("person", "cat", 0.9, "animal"),  # MOSAIC and selfie call a cat person: VOC decides
        ("person", "person", 0.9, "person"),
        ("wall", "person", 0.0, None),  # VOC alone says person (a poster?): no loss
        ("person", "background", 0.9, None),  # MOSAIC person where VOC sees nothing: they disagree
        ("car", "background", 0.0, None),
        ("other", "background", 0.0, None),  # mass on a class the taxonomy cannot place
        ("windowpane", "background", 0.0, None),
        ("road", "car", 0.0, "vehicle"),  # VOC's objects override MOSAIC's surface
        ("floor", "chair", 0.0, "furniture"),
    ],
)
def test_combination_trusts_each_teacher_where_it_is_strong(mosaic, voc, selfie, expected):
    assert _taught(_outputs(mosaic, voc, selfie)) == expected


def test_unsure_teachers_give_no_target():
    assert _taught(_outputs("sky", "background", sure=0.1)) is None  # 32 near-equal MOSAIC classes


def test_targets_are_distributions_or_zero_and_quantise_to_255():
    outputs = _outputs("sky", "background", size=(4, 5), sure=8.0)
    target = combine(outputs, SETTINGS)
    assert np.allclose(target.sum(axis=0), 1, atol=1e-5)
    assert 0.5 < target[CLASSES.index("sky")].min() < 1  # softened: other scene classes keep some mass
    packed = quantise(target)
    assert packed.dtype == np.uint8 and set(np.unique(packed.sum(axis=0, dtype=np.int64))) == {255}
    assert quantise(np.zeros_like(target)).sum() == 0


# --- the cache, the split and the teach pass -----------------------------------------------------


class _PlantedTeachers:
    """Stands in for the three networks: sky on the top half, a VOC car on the bottom half."""

    def __init__(self, folder, *, threads=1):
        pass

    def __call__(self, rgb):
        grid = teachers.target_grid(*rgb.shape[:2])
        outputs = _outputs("sky", "background", size=grid)
        half = grid[0] // 2
        outputs.voc_labels[half:] = VOC.index("car")
        outputs.voc[:, half:] = 0
        outputs.voc[VOC.index("car"), half:] = 8
        return outputs


@pytest.fixture
def photo_folder(tmp_path):
    root = tmp_path / "photos" / "set"
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(24):
        Image.fromarray(rng.integers(0, 255, (40, 56, 3), dtype=np.uint8)).save(root / f"p{i:02d}.jpg")
    for i in range(3):  # frames of one video
        Image.fromarray(rng.integers(0, 255, (40, 56, 3), dtype=np.uint8)).save(root / f"clip_{10 * i:05d}.jpg")
    return tmp_path / "photos"


def _teach_config(photo_folder: Path, cache: Path, **settings) -> photos.TeachConfig:
    return photos.TeachConfig.from_dict(
        {"teachers": str(photo_folder), "photos": [str(photo_folder)], "cache": str(cache), "workers": 1, **settings}
    )


@pytest.fixture
def taught(photo_folder, tmp_path, monkeypatch):
    monkeypatch.setattr(photos, "Teachers", _PlantedTeachers)
    monkeypatch.setattr(photos, "check_teachers", lambda folder: None)
    config = _teach_config(photo_folder, tmp_path / "cache")
    assert photos.teach(config) == {"photos": 27, "made": 27, "skipped": 0}
    return config


def test_teach_caches_every_photo_once_and_resumes(taught, monkeypatch):
    assert photos.teach(taught) == {"photos": 27, "made": 0, "skipped": 27}
    target = teachers.load_target(taught.cache / "set" / "p00.npz")
    assert target.shape == (len(CLASSES), 10, 14)  # a quarter of 40 x 56
    labels = photos.teacher_labels(target, (40, 56))
    assert (labels[:16] == CLASSES.index("sky")).all() and (labels[24:] == CLASSES.index("vehicle")).all()


def test_a_cache_made_with_other_settings_is_refused(taught, photo_folder):
    with pytest.raises(OptionError, match="other settings"):
        teachers.open_cache(taught.cache, TeachSettings(temperature=1.0))


def test_held_out_split_is_stable_and_keeps_video_frames_together():
    names = [Path(f"set/p{i:04d}.jpg") for i in range(2000)]
    held = [n for n in names if photos.photo_split(n) == "heldout"]
    assert 0.08 < len(held) / len(names) < 0.12
    assert len({photos.photo_split(Path(f"davis/clip_{10 * i:05d}.jpg")) for i in range(20)}) == 1


def test_teach_without_the_teacher_files_is_one_error_before_any_work(photo_folder, tmp_path):
    with pytest.raises((InputError, OptionError), match="teacher model not found|ai-edge-litert"):
        photos.teach(_teach_config(photo_folder, tmp_path / "cache"))
    assert not (tmp_path / "cache").exists()


def test_reading_photos_without_targets_says_to_teach(photo_folder, tmp_path):
    with pytest.raises(InputError, match="segpress.train teach"):
        photos.read_taught_photos(_teach_config(photo_folder, tmp_path / "empty"), "train")


def test_teach_table_refuses_unknown_keys_and_bad_values(photo_folder, tmp_path):
    with pytest.raises(OptionError, match="unknown key 'temprature'"):
        _teach_config(photo_folder, tmp_path, temprature=2.0)
    with pytest.raises(OptionError, match="temperature must be a positive number"):
        _teach_config(photo_folder, tmp_path, temperature="hot")


# --- training on taught photos -------------------------------------------------------------------


def test_taught_crops_carry_distributions_and_padding_costs_nothing(taught):
    photo = photos.read_taught_photos(taught, "all")[0]
    transform = TrainTransform((64, 96), (1.0, 1.0))
    image, target = transform.taught(photo.image, photo.target, np.random.default_rng(0))
    assert image.shape == (3, 64, 96) and target.shape == (64, 96, len(CLASSES))
    mass = target.sum(axis=-1)
    assert np.allclose(mass[mass > 0.01], 1, atol=0.02)  # photo pixels: distributions
    assert (mass == 0).sum() >= 64 * 96 - 40 * 56  # the padding around the 40 x 56 photo: no target


def test_soft_cross_entropy_ignores_pixels_without_target():
    logits = torch.zeros(1, len(CLASSES), 2, 2)
    targets = torch.zeros(1, len(CLASSES), 2, 2)
    targets[0, 3, 0, 0] = 1
    uniform = float(np.log(len(CLASSES)))
    assert soft_cross_entropy(logits, targets).item() == pytest.approx(uniform)
    assert soft_cross_entropy(logits, torch.zeros_like(targets)).item() == 0


def test_steps_mix_both_sources_and_repeat_exactly(taught, tmp_path):
    labelled = _labelled(tmp_path)
    photo_list = photos.read_taught_photos(taught, "all")
    make = lambda: EpochSteps(labelled, photo_list, TrainTransform((32, 32)), batch_size=4, seed=3, epoch=2)  # noqa: E731
    steps = make()
    assert len(steps) == len(photo_list) // 4  # the larger source sets the epoch
    first, again = steps[1], make()[1]
    assert first.photo_targets.shape == (4, len(CLASSES), 32, 32)
    assert torch.equal(first.images, again.images) and torch.equal(first.photo_targets, again.photo_targets)


def _labelled(tmp_path):
    from segpress.datasets import Sample, SegmentationDataset

    rng = np.random.default_rng(1)
    return SegmentationDataset("boxes", [
        Sample(f"b{i}", rng.integers(0, 255, (48, 48, 3), dtype=np.uint8), np.full((48, 48), i % 3, np.uint8))
        for i in range(6)
    ])


def _write_labelled(root: Path) -> dict[str, str]:
    rng = np.random.default_rng(2)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(exist_ok=True)
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(root / "images" / f"{i}.png")
        Image.fromarray(np.full((48, 48), i % 2, np.uint8)).save(root / "labels" / f"{i}.png")
    (root / "classes.txt").write_text("road\nvehicle\n")
    return {"format": "folder", "images": str(root / "images"), "labels": str(root / "labels"),
            "classes": str(root / "classes.txt")}


def _distill_config(taught, tmp_path: Path, **changes) -> TrainConfig:
    spec = _write_labelled(tmp_path / "labelled")
    teach = {"teachers": str(taught.teachers), "photos": [str(p) for p in taught.photos], "cache": str(taught.cache),
             "workers": 1}
    return TrainConfig.from_dict({
        "train_data": [spec, {"format": "photos", "split": "train"}],
        "val_data": [{**spec, "name": "labelled-val"}, {"format": "photos", "split": "heldout"}],
        "output_dir": str(tmp_path / "run"), "epochs": 1, "batch_size": 4, "crop_size": [32, 32],
        "pretrained": False, "threads": 1, "teach": teach, **changes,
    })


def test_training_on_taught_photos_scores_the_held_out_tenth(taught, tmp_path):
    config = _distill_config(taught, tmp_path)
    record = loop.train(config)
    assert set(record["val"]) == {"labelled-val", "photos-heldout"}
    assert np.isfinite(record["train_loss"])
    saved = json.loads((config.output_dir / "log.jsonl").read_text().splitlines()[0])
    assert saved["val"]["photos-heldout"]["pixel_accuracy"] == record["val"]["photos-heldout"]["pixel_accuracy"]


def test_a_run_without_validation_is_scored_afterwards_and_exports_int8(taught, tmp_path):
    config = _distill_config(taught, tmp_path)
    record = loop.train(config, validate=False)
    assert record["val"] == {} and record["best_epoch"] == 1
    scored = tmp_path / "scored.pt"
    scored_record = loop.score(config, config.output_dir / "best.pt", scored)
    assert set(scored_record["val"]) == {"labelled-val", "photos-heldout"}
    images = [np.random.default_rng(i).integers(0, 255, (40, 56, 3), dtype=np.uint8) for i in range(4)]
    metadata = export_checkpoint(scored, tmp_path / "model.onnx", int8_calibration=images)
    assert metadata["precision"] == "int8" and 0 <= metadata["int8"]["label_agreement_with_float32"] <= 1
    assert metadata["metrics"]["val"]["photos-heldout"]["miou"] == scored_record["val"]["photos-heldout"]["miou"]
    assert (tmp_path / "model.onnx").stat().st_size < 0.4 * 10e6  # a quarter of the float32 file's size


def test_photos_need_a_teach_table_and_a_labelled_set(taught, tmp_path):
    with pytest.raises(OptionError, match="needs a \\[teach\\] table"):
        _distill_config(taught, tmp_path, teach=None)
    with pytest.raises(OptionError, match="at least one labelled dataset"):
        _distill_config(taught, tmp_path, train_data=[{"format": "photos", "split": "train"}])


def test_held_out_photos_become_a_folder_that_segpress_evaluate_reads(taught, tmp_path):
    from segpress.datasets import read_folder

    count = photos.write_teacher_dataset(taught, "all", tmp_path / "heldout")
    dataset = read_folder(tmp_path / "heldout" / "images", tmp_path / "heldout" / "labels",
                          tmp_path / "heldout" / "classes.txt")
    assert count == len(dataset) == 27
    labels = dataset.samples[0].labels
    assert (labels[:16] == CLASSES.index("sky")).all() and (labels[24:] == CLASSES.index("vehicle")).all()
