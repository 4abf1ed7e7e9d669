"""Where to trust which teacher: the three teachers and their combination against human labels.

    .venv/bin/python benchmarks/teachers.py [--data ../shared/data] [--teachers ../shared/teachers] [--out benchmarks/results]

Runs the teacher networks (``segpress.train.teachers``, ai-edge-litert; training-time tools) on the
labelled val images the student is scored on (CamVid val, the MSRC-v2 val split), and scores on the
pixels each one labels:
- the combined teacher (what the student learns from on ordinary photos): coverage (share of pixels
  it gives a target), pixel accuracy and per-class precision / recall where it gives one;
- each teacher's own calls for the classes the combination takes from it: VOC's objects, MOSAIC's
  scene classes, and "person" from MOSAIC, selfie and VOC alone (MOSAIC and selfie call animals
  person: the reason the combination takes objects from VOC).
Writes ``teachers.json`` and ``teachers.md`` into ``--out``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from segpress.bench.record import Run, machine_line
from segpress.datasets import read_camvid, read_msrc
from segpress.taxonomy import CLASSES
from segpress.train.teachers import (
    MOSAIC_TO_TAXONOMY,
    VOC_TO_TAXONOMY,
    Teachers,
    TeachSettings,
    combine,
    softmax,
)

REPO = Path(__file__).resolve().parent.parent
PERSON = CLASSES.index("person")
MOSAIC_PERSON = [row[0] for row in MOSAIC_TO_TAXONOMY].index("person")


def nearest(labels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Ground-truth labels sampled at the target grid's cell centres."""
    rows = ((np.arange(size[0]) + 0.5) * labels.shape[0] / size[0]).astype(int)
    cols = ((np.arange(size[1]) + 0.5) * labels.shape[1] / size[1]).astype(int)
    return labels[np.ix_(rows, cols)]


def score(dataset, teachers: Teachers, settings: TeachSettings) -> dict:
    classes = len(CLASSES)
    confusion = np.zeros((classes, classes), np.int64)  # truth x combined teacher, where it gives a target
    labelled = covered = 0
    person = {name: {"tp": 0, "fp": 0, "fn": 0} for name in ("mosaic", "selfie", "voc", "combined")}
    started = time.perf_counter()
    for sample in dataset:
        outputs = teachers(sample.image)
        target = combine(outputs, settings)
        truth = nearest(sample.labels, target.shape[1:])
        known = truth < classes
        kept = target.sum(axis=0) > 0
        labelled += int(known.sum())
        covered += int((known & kept).sum())
        guess = target.argmax(axis=0)
        np.add.at(confusion, (truth[known & kept], guess[known & kept]), 1)
        is_person = truth == PERSON
        calls = {
            "mosaic": softmax(outputs.mosaic, 1.0).argmax(axis=0) == MOSAIC_PERSON,
            "selfie": outputs.selfie >= 0.5,
            "voc": outputs.voc_labels == [row[0] for row in VOC_TO_TAXONOMY].index("person"),
            "combined": kept & (guess == PERSON),
        }
        for name, call in calls.items():
            person[name]["tp"] += int((call & is_person & known).sum())
            person[name]["fp"] += int((call & ~is_person & known).sum())
            person[name]["fn"] += int((~call & is_person & known).sum())
    per_class = {}
    for index, name in enumerate(CLASSES):
        truth_count, guess_count = confusion[index].sum(), confusion[:, index].sum()
        if truth_count or guess_count:
            per_class[name] = {
                "precision": float(confusion[index, index] / guess_count) if guess_count else None,
                "recall": float(confusion[index, index] / truth_count) if truth_count else None,
                "pixels": int(truth_count),
            }
    return {
        "images": len(dataset),
        "seconds": round(time.perf_counter() - started, 1),
        "coverage": covered / max(labelled, 1),
        "pixel_accuracy": float(np.trace(confusion) / max(confusion.sum(), 1)),
        "per_class": per_class,
        "person": {name: _precision_recall(counts) for name, counts in person.items()},
    }


def _precision_recall(counts: dict[str, int]) -> dict[str, float | None]:
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    return {"precision": tp / (tp + fp) if tp + fp else None, "recall": tp / (tp + fn) if tp + fn else None}


def markdown(document: dict) -> str:
    report = document["results"]
    lines = ["# teachers: the combined teacher against human labels", "",
             f"{machine_line(document)}; settings {document['settings']['teach']}.", "",
             "| dataset | images | coverage | pixel accuracy where it teaches |", "|---|---:|---:|---:|"]
    for name, result in report["datasets"].items():
        lines.append(f"| {name} | {result['images']} | {100 * result['coverage']:.1f} % | "
                     f"{100 * result['pixel_accuracy']:.1f} % |")
    for name, result in report["datasets"].items():
        lines += ["", f"## {name}", "", "| class | precision | recall | labelled pixels (grid) |", "|---|---:|---:|---:|"]
        for cls, row in result["per_class"].items():
            lines.append(f"| {cls} | {_pct(row['precision'])} | {_pct(row['recall'])} | {row['pixels']:,} |")
        lines += ["", "Person calls against the labels: " + ", ".join(
            f"{who} precision {_pct(v['precision'])} recall {_pct(v['recall'])}" for who, v in result["person"].items()
        ) + "."]
    lines += ["", f"Reproduce: `{document['command']}`", ""]
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--teachers", type=Path, default=REPO.parent / "shared" / "teachers")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args(argv)
    run = Run("teachers", argv, ("ai-edge-litert",))
    if not (args.data / "camvid").is_dir() or not args.teachers.is_dir():
        print(f"no data at {args.data} or no teachers at {args.teachers}: nothing to measure", file=sys.stderr)
        return 1
    settings = TeachSettings()
    teachers = Teachers(args.teachers)
    datasets = {"camvid-val": read_camvid(args.data / "camvid", "val"), "msrc-val": read_msrc(args.data / "msrc_v2", "val")}
    results = {"datasets": {name: score(dataset, teachers, settings) for name, dataset in datasets.items()}}
    print(markdown(run.write(args.out, {"teach": dict(vars(settings))}, results, markdown)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
