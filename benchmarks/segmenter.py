"""Benchmark of the shipped segmentation model: accuracy on held-out data and inference cost.

    .venv/bin/python benchmarks/segmenter.py [--data ../shared/data] [--model DIR] [--out benchmarks/results]

Accuracy (through onnxruntime, exactly as `segpress compress` runs the model):
- CamVid val (101 frames): mIoU over its 11 classes (tree = vegetation, car = vehicle, pedestrian =
  person, bicyclist = bicycle, the others by name), pixel accuracy. Target: mIoU >= 65 %.
- MSRC-v2, the split held out from training (``segpress.datasets.msrc_split``): pixel accuracy and
  mIoU over the taxonomy classes present. Target: pixel accuracy >= 90 %.
- The held-out tenth of ../shared/photos (``segpress.train.photos.photo_split``), scored against the
  combined teacher's labels (``build/teach``, made by ``python -m segpress.train teach``) on the
  pixels it labels: pixel agreement (target >= 80 %) and per-class IoU (person target >= 75 %).
- scikit-image's astronaut (``make demo``'s photo): the share of pixels labelled person (target <= 50 %).
Cost: onnxruntime time per 480x360 frame (2 threads; the whole ``segment()`` call and the network
alone), next to a plain Pillow JPEG encode (q85) of the same frames in the same run; GMACs from the
model's metadata. Targets: <= 3 GMAC, <= 30 ms per frame.

Writes ``segmenter.json`` (every figure and the confusion matrices), ``segmenter.md`` and one
confusion-matrix PNG per dataset into ``--out``.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from segpress.bench.record import Run, machine_line
from segpress.datasets import Sample, SegmentationDataset, read_camvid, read_msrc
from segpress.evaluation import confusion_png, evaluate_segmenter
from segpress.imageio import atomic_write
from segpress.segmenters import default_segmenter, load_segmenter
from segpress.taxonomy import CLASSES
from segpress.train.config import load_config
from segpress.train.photos import read_taught_photos, teacher_labels

REPO = Path(__file__).resolve().parent.parent
TARGETS = {"camvid_miou": 0.66, "camvid_person_sign_iou": 0.50, "msrc_pixel_accuracy": 0.90, "gmacs": 3.0,
           "ms_per_frame": 30.0, "photos_agreement": 0.80, "photos_person_iou": 0.75, "astronaut_person": 0.50}
TIMED_FRAMES = 20
THREADS = 2  # the machine's cores
REPEATS = 3


def accuracy(segmenter, dataset) -> dict:
    started = time.perf_counter()
    metrics = evaluate_segmenter(segmenter, dataset)
    metrics["seconds"] = time.perf_counter() - started
    metrics["images"] = len(dataset)
    return metrics


def best_of(call, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def timing(segmenter, frames: list[np.ndarray]) -> dict:
    """Per-frame milliseconds: whole segment(), the network alone, and a Pillow JPEG encode."""
    session = segmenter._session  # the network alone: same session, input prepared as segment() does
    input_name = session.get_inputs()[0].name
    mean = np.asarray(segmenter.config.mean, np.float32).reshape(1, 3, 1, 1)
    std = np.asarray(segmenter.config.std, np.float32).reshape(1, 3, 1, 1)
    segment_ms, network_ms, jpeg_ms = [], [], []
    for pixels in frames:
        segmenter.segment(pixels)  # warm-up for this size
        fitted = segmenter._fit(pixels, segmenter.config.working_size(*pixels.shape[:2]))
        tensor = (fitted[None].transpose(0, 3, 1, 2).astype(np.float32) / 255 - mean) / std
        segment_ms.append(1000 * best_of(lambda: segmenter.segment(pixels).labels))
        network_ms.append(1000 * best_of(lambda: session.run(None, {input_name: tensor})))
        jpeg_ms.append(1000 * best_of(lambda: Image.fromarray(pixels).save(io.BytesIO(), "JPEG", quality=85)))
    return {
        "frames": len(frames),
        "segment_ms": statistics.median(segment_ms),
        "network_ms": statistics.median(network_ms),
        "pillow_jpeg_ms": statistics.median(jpeg_ms),
        "threads": THREADS,
    }


def photos_heldout(config_path: Path) -> SegmentationDataset | None:
    """The held-out photos with the combined teacher's labels, or None without the teach cache."""
    config = load_config(config_path)
    if config.teach is None or not (config.teach.cache / "teach.json").exists():
        return None
    photos = read_taught_photos(config.teach, "heldout")
    return SegmentationDataset(
        "photos-heldout", [Sample(p.name, p.image, teacher_labels(p.target, p.image.shape[:2])) for p in photos]
    )


def astronaut_person_share(segmenter) -> float:
    from skimage import data

    labels = segmenter.segment(data.astronaut()).labels
    return float((labels == CLASSES.index("person")).mean())


def markdown(document: dict) -> str:
    report = document["results"]
    camvid, msrc, cost = report["camvid_val"], report["msrc_val"], report["timing"]
    photos = report.get("photos_heldout")
    gmacs = report["model"].get("gmacs_480x360")

    def status(ok: bool) -> str:
        return "met" if ok else "**missed**"

    person, sign = camvid["iou"]["person"], camvid["iou"]["sign"]
    rows = [
        ("CamVid val mIoU (11 classes)", f"{100 * camvid['miou']:.1f} %", ">= 66 %",
         status(camvid["miou"] >= TARGETS["camvid_miou"])),
        ("CamVid val person / sign IoU", f"{100 * person:.1f} / {100 * sign:.1f} %", ">= 50 % each",
         status(min(person, sign) >= TARGETS["camvid_person_sign_iou"])),
        ("CamVid val pixel accuracy", f"{100 * camvid['pixel_accuracy']:.1f} %", "", ""),
        ("MSRC-v2 held-out split pixel accuracy", f"{100 * msrc['pixel_accuracy']:.1f} %", ">= 90 %",
         status(msrc["pixel_accuracy"] >= TARGETS["msrc_pixel_accuracy"])),
        ("MSRC-v2 held-out split mIoU (classes present)", f"{100 * msrc['miou']:.1f} %", "", ""),
    ]
    if photos:
        rows += [
            (f"held-out photos ({photos['images']}): agreement with the combined teacher",
             f"{100 * photos['pixel_accuracy']:.1f} %", ">= 80 %",
             status(photos["pixel_accuracy"] >= TARGETS["photos_agreement"])),
            ("held-out photos: person IoU against the teacher", f"{100 * photos['iou']['person']:.1f} %", ">= 75 %",
             status(photos["iou"]["person"] >= TARGETS["photos_person_iou"])),
            ("held-out photos: mIoU against the teacher (classes present)", f"{100 * photos['miou']:.1f} %", "", ""),
        ]
    rows += [
        ("astronaut: share of pixels labelled person", f"{100 * report['astronaut_person']:.1f} %", "<= 50 %",
         status(report["astronaut_person"] <= TARGETS["astronaut_person"])),
        ("GMAC per 480x360 frame", f"{gmacs:.2f}" if gmacs else "-", "<= 3", status(bool(gmacs) and gmacs <= 3)),
        ("onnxruntime, whole segment() per 480x360 frame", f"{cost['segment_ms']:.1f} ms", "<= 30 ms",
         status(cost["segment_ms"] <= TARGETS["ms_per_frame"])),
        ("onnxruntime, network alone", f"{cost['network_ms']:.1f} ms", "", ""),
        ("Pillow JPEG q85 encode of the same frame", f"{cost['pillow_jpeg_ms']:.1f} ms", "", ""),
        ("segment() / Pillow JPEG encode", f"{cost['segment_ms'] / cost['pillow_jpeg_ms']:.0f}x", "", ""),
    ]
    iou = lambda metrics: ", ".join(  # noqa: E731
        f"{name} {100 * value:.0f}" for name, value in metrics["iou"].items() if value is not None
    )
    lines = [
        "# segmenter: the shipped segmentation model",
        "",
        f"{machine_line(document)}; "
        f"onnxruntime {document['versions']['onnxruntime']} ({cost['threads']} threads); model "
        f"{report['model'].get('name')} ({report['model'].get('precision', 'float32')}, "
        f"{report['model'].get('file_size', 0) / 1e6:.1f} MB).",
        "",
        "| figure | value | target | status |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
        f"IoU per class, CamVid val: {iou(camvid)}.",
        "",
        f"IoU per class, MSRC-v2 held-out split: {iou(msrc)}.",
        "",
        *([f"IoU per class against the combined teacher, held-out photos: {iou(photos)}.", ""] if photos else []),
        f"Reproduce: `{document['command']}`",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--model", type=Path, default=None, help="a model config or .onnx (default: shipped)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "general.toml",
                        help="training config whose [teach] cache holds the held-out photos' teacher labels")
    args = parser.parse_args(argv)
    run = Run("segmenter", argv, ("onnxruntime",))
    if not (args.data / "camvid").is_dir():
        print(f"no CamVid data at {args.data / 'camvid'}: nothing to measure", file=sys.stderr)
        return 1
    segmenter = load_segmenter(args.model) if args.model else default_segmenter(threads=THREADS)
    metadata_file = segmenter.path.with_suffix(".json")
    metadata = json.loads(metadata_file.read_text()) if metadata_file.exists() else {}
    camvid = read_camvid(args.data / "camvid", "val")
    msrc = read_msrc(args.data / "msrc_v2", "val")
    report = {
        "model": {key: metadata.get(key)
                  for key in ("name", "file_size", "sha256", "gmacs_480x360", "num_params", "precision")},
        "camvid_val": accuracy(segmenter, camvid),
        "msrc_val": accuracy(segmenter, msrc),
        "astronaut_person": astronaut_person_share(segmenter),
        "timing": timing(segmenter, [sample.image for sample in camvid.samples[:TIMED_FRAMES]]),
    }
    heldout = photos_heldout(args.config)
    if heldout is not None:
        report["photos_heldout"] = accuracy(segmenter, heldout)
    else:
        print(f"no teacher targets for {args.config}'s photos: held-out photos not measured", file=sys.stderr)
    settings = {"data": str(args.data), "model": str(args.model) if args.model else "shipped",
                "config": str(args.config), "threads": THREADS, "timed_frames": TIMED_FRAMES}
    args.out.mkdir(parents=True, exist_ok=True)
    titles = {"camvid_val": "CamVid val", "msrc_val": "MSRC-v2 held-out split", "photos_heldout": "held-out photos vs teacher"}
    for key, title in titles.items():
        if key not in report:
            continue
        metrics = report[key]
        png = confusion_png(metrics["confusion"], metrics["classes"], f"{segmenter.name}, {title}")
        atomic_write(args.out / f"segmenter-confusion-{key}.png", png, overwrite=True)
    print(markdown(run.write(args.out, settings, report, markdown)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
