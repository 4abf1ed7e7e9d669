"""How well a segmenter labels images: per-class IoU, mIoU, pixel accuracy and a confusion matrix.

    dataset (images + taxonomy labels) -- segmenter.segment --> predicted labels
    --> confusion matrix [true class, predicted class] --> IoU per class, mIoU, pixel accuracy

Used by ``segpress evaluate`` on any image + label folder, by training (on torch logits), and for
the model card. ``miou`` averages the classes that occur in the labels: a taxonomy class a dataset
never labels (animal in CamVid) would otherwise count 0 or be undefined, while predicting it still
costs the true class its IoU.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from .taxonomy import CLASSES, UNLABELLED


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int) -> np.ndarray:
    """``[true class, predicted class]`` pixel counts; ignored pixels are left out."""
    keep = labels != UNLABELLED
    pairs = labels[keep].astype(np.int64) * num_classes + predictions[keep]
    return np.bincount(pairs, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def metrics_from_confusion(confusion: np.ndarray, classes: Sequence[str] = CLASSES) -> dict[str, Any]:
    true_positives = np.diag(confusion).astype(np.float64)
    labelled = confusion.sum(axis=1)
    union = labelled + confusion.sum(axis=0) - true_positives
    present = labelled > 0
    iou = np.divide(true_positives, union, out=np.zeros_like(true_positives), where=union > 0)
    return {
        "miou": float(iou[present].mean()) if present.any() else 0.0,
        "pixel_accuracy": float(true_positives.sum() / max(confusion.sum(), 1)),
        "iou": {name: float(iou[i]) if present[i] else None for i, name in enumerate(classes)},
        "confusion": confusion.tolist(),
    }


def evaluate_predictions(
    pairs: Iterable[tuple[np.ndarray, np.ndarray]],
    classes: Sequence[str] = CLASSES,
    on_image: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Metrics over (true labels, predicted labels) pairs of taxonomy indices."""
    confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for labels, predictions in pairs:
        confusion += confusion_matrix(labels, predictions, len(classes))
        if on_image is not None:
            on_image()
    return metrics_from_confusion(confusion, classes)


def confusion_png(confusion: np.ndarray, classes: Sequence[str], title: str = "") -> bytes:
    """The confusion matrix normalised per true class (rows sum to 1), as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display: render straight to the PNG buffer
    from matplotlib import pyplot as plt

    counts = np.asarray(confusion, dtype=np.float64)
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    figure, axes = plt.subplots(figsize=(1.2 + 0.45 * len(classes), 1.0 + 0.45 * len(classes)), dpi=110)
    image = axes.imshow(share, cmap="Blues", vmin=0.0, vmax=1.0)
    axes.set_xticks(range(len(classes)), classes, rotation=60, ha="right")
    axes.set_yticks(range(len(classes)), classes)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    for row in range(len(classes)):
        for column in range(len(classes)):
            if share[row, column] >= 0.005:
                colour = "white" if share[row, column] > 0.5 else "black"
                axes.text(column, row, f"{100 * share[row, column]:.0f}", ha="center", va="center",
                          fontsize=7, color=colour)
    if title:
        axes.set_title(title)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of the true class's pixels")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


def evaluate_segmenter(
    segmenter: Any, samples: Iterable[Any], on_image: Callable[[], None] | None = None
) -> dict[str, Any]:
    """Metrics of ``segmenter`` on samples with ``.image`` (uint8) and ``.labels`` (taxonomy indices).

    Pixels a user model leaves unlabelled (255: its unmapped classes won) count as misses of their
    true class, through an extra "unlabelled" prediction column that no label ever has.
    """
    classes = tuple(segmenter.classes)
    extended = (*classes, "unlabelled")

    def pairs() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for sample in samples:
            predicted = segmenter.segment(sample.image).labels
            yield sample.labels, np.where(predicted >= len(classes), len(classes), predicted)

    metrics = evaluate_predictions(pairs(), extended, on_image)
    metrics["iou"].pop("unlabelled")
    confusion = np.asarray(metrics["confusion"])
    if not confusion[:, -1].any():  # the usual case: the model labels every pixel
        metrics["confusion"] = confusion[:-1, :-1].tolist()
    metrics["classes"] = list(extended[: len(metrics["confusion"])])
    return metrics
