"""Segmentation metrics: IoU, mIoU over present classes, pixel accuracy, the confusion-matrix PNG."""

import io

import numpy as np
import pytest
from PIL import Image

from segpress.evaluation import confusion_matrix, confusion_png, evaluate_predictions
from segpress.taxonomy import UNLABELLED as IGNORE_INDEX

CLASSES = ("sky", "road", "person")


def test_metrics_on_a_known_case():
    labels = np.array([[0, 0, 1, 1, IGNORE_INDEX]], dtype=np.uint8)
    predictions = np.array([[0, 1, 1, 1, 2]], dtype=np.uint8)
    metrics = evaluate_predictions([(labels, predictions)], CLASSES)
    assert metrics["confusion"] == [[1, 1, 0], [0, 2, 0], [0, 0, 0]]
    assert metrics["pixel_accuracy"] == pytest.approx(3 / 4)
    assert metrics["iou"] == {"sky": pytest.approx(1 / 2), "road": pytest.approx(2 / 3), "person": None}
    assert metrics["miou"] == pytest.approx((1 / 2 + 2 / 3) / 2)  # person has no label: not averaged


def test_confusion_accumulates_over_images():
    rng = np.random.default_rng(0)
    pairs = [(rng.integers(0, 3, (8, 8)), rng.integers(0, 3, (8, 8))) for _ in range(3)]
    total = sum(confusion_matrix(a, b, 3) for a, b in pairs)
    assert evaluate_predictions(pairs, CLASSES)["confusion"] == total.tolist()
    assert total.sum() == 3 * 64


def test_confusion_png_is_an_image():
    png = confusion_png(np.array([[5, 1, 0], [2, 9, 0], [0, 0, 0]]), CLASSES, title="test")
    with Image.open(io.BytesIO(png)) as image:
        assert image.format == "PNG" and image.width > 100 and image.height > 100


def test_evaluate_command_on_a_generated_folder(tmp_path, capsys):
    """`segpress evaluate` on a user's folder: their class names mapped to the taxonomy."""
    import json

    from skimage import data

    from segpress.cli import main

    images, labels = tmp_path / "images", tmp_path / "labels"
    images.mkdir()
    labels.mkdir()
    photo = data.chelsea()
    Image.fromarray(photo).save(images / "cat.png")
    truth = np.zeros(photo.shape[:2], np.uint8)  # 0 = "kitty" everywhere but the border
    truth[:20] = 255
    Image.fromarray(truth).save(labels / "cat.png")
    (tmp_path / "classes.txt").write_text("kitty\n")
    (tmp_path / "mapping.toml").write_text('kitty = "animal"\n')
    out = tmp_path / "report"
    code = main(["evaluate", str(images), str(labels), "--classes", str(tmp_path / "classes.txt"),
                 "--mapping", str(tmp_path / "mapping.toml"), "-o", str(out)])
    assert code == 0, capsys.readouterr().err
    report = json.loads((out / "metrics.json").read_text())
    assert report["images"] == 1 and set(report["iou"]) >= {"animal"}
    assert 0.0 <= report["pixel_accuracy"] <= 1.0
    assert report["iou"]["animal"] is not None
    with Image.open(out / "confusion.png") as png:
        assert png.format == "PNG"
    assert "mIoU" in capsys.readouterr().out


def test_a_partial_mapping_warns_and_void_needs_no_line(tmp_path, capsys):
    """Classes the mapping leaves out are listed (they are not scored); a "void" class is ignored as
    255 is, with or without a mapping."""
    from segpress.cli import main
    from segpress.datasets import folder_label_set

    images, labels = tmp_path / "images", tmp_path / "labels"
    images.mkdir()
    labels.mkdir()
    Image.fromarray(np.full((64, 64, 3), 120, np.uint8)).save(images / "a.png")
    truth = np.zeros((64, 64), np.uint8)
    truth[:, 32:] = 1  # "road"
    truth[:8] = 2  # "void"
    truth[-8:] = 3  # "horse", left out of the mapping
    Image.fromarray(truth).save(labels / "a.png")
    classes = tmp_path / "classes.txt"
    classes.write_text("sky\nroad\nvoid\nhorse\n")
    (tmp_path / "partial.toml").write_text('sky = "sky"\nroad = "road"\n')
    code = main(["evaluate", str(images), str(labels), "--classes", str(classes), "--mapping",
                 str(tmp_path / "partial.toml")])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.err.splitlines() == [
        "warning: 1 class of classes.txt not in the mapping is not scored (its pixels are ignored): horse"
    ]
    assert folder_label_set(classes, tmp_path / "partial.toml").ignore == (2, IGNORE_INDEX)
    # Without a mapping, names must be taxonomy classes, but "void" needs no line of its own.
    classes.write_text("sky\nroad\nvoid\n")
    truth[-8:] = 0
    Image.fromarray(truth).save(labels / "a.png")
    assert main(["evaluate", str(images), str(labels), "--classes", str(classes)]) == 0
    assert capsys.readouterr().err == ""
