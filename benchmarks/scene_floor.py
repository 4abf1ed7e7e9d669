"""Benchmark for the scene floor (``--scene-fidelity``): what it costs in bytes and time, what it keeps.

The subset (as benchmarks/map_rules.py): every fifth CamVid val frame, the first 20, judged by their
ground-truth labels; 20 held-out photos (``segpress.train.photos.photo_split(path) == "heldout"``,
evenly spaced in sorted order), judged by the shipped model's labels on the original. Per image the
shipped model segments the original once; then for each format ``segpress.api.compress`` encodes it at
the defaults (roi 85, background 25, default policy, compare and fallback on) with the floor off and at
each of FLOORS, and the script records bytes, PSNR inside, the compress time (wall, the segmentation of
the original not counted, the floor's own segmentations counted), the background quality, the label
agreement the floor measures (``scenefloor``: confident pixels at the working size; measured for "off"
too) and the task fidelity: the shipped model's labels on the decoded file, full size, against the
truth (CamVid) or the original's labels (photos), as mIoU over the set's pooled confusion matrix.
Each file is set against the uniform file of the same format at the highest quality that is not bigger
(``uniform.fit_uniform_size``): its task fidelity is the "uniform at equal bytes" column.

Usage: .venv/bin/python benchmarks/scene_floor.py [--data DIR] [--photos DIR] [--formats jpeg,webp]
       [--limit N] [--out DIR]

Per-file records keep no confusion matrix (17x17 per file would make megabytes): the summary's mIoU pools them.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from common import DEFAULT_OUT, DEFAULT_PHOTOS

from segpress import api, codecs, scenefloor
from segpress.bench.record import Run, machine_line
from segpress.datasets import CAMVID_LABELS, _load_pair  # one frame and its labels, read in place
from segpress.evaluation import confusion_matrix, metrics_from_confusion
from segpress.imageio import load_image
from segpress.ratecontrol import decode_like
from segpress.segmenters import resolve_segmenter
from segpress.taxonomy import CLASSES
from segpress.train.photos import photo_split
from segpress.uniform import fit_uniform_size

FLOORS = (0.9, 0.95, 0.98)
DEFAULT_FORMATS = ("jpeg", "webp", "avif")
DEFAULT_DATA = DEFAULT_PHOTOS.parent / "data"


def subset(data: Path, photos: Path, limit: int) -> list[tuple[str, Path, Path | None]]:
    """(set, image, ground-truth labels or None) for the CamVid frames and the held-out photos."""
    frames = sorted((data / "camvid" / "val").glob("*.png"))[::5][:limit]
    held_out = sorted(p for p in photos.rglob("*.jpg") if photo_split(p) == "heldout")
    chosen = held_out[:: max(1, len(held_out) // limit)][:limit]
    return ([("camvid", frame, data / "camvid" / "valannot" / frame.name) for frame in frames]
            + [("photos", photo, None) for photo in chosen])


def measure(kind: str, path: Path, truth_path: Path | None, formats: list[str]) -> dict[str, Any]:
    network = resolve_segmenter(None)
    if truth_path is not None:
        sample = _load_pair(path, truth_path, CAMVID_LABELS)
        pixels, truth = sample.image, sample.labels
        metadata = codecs.Metadata()
    else:
        loaded = load_image(path)
        pixels, truth, metadata = loaded.pixels, None, codecs.Metadata(loaded.icc_profile, loaded.exif)
    segmentation = network.segment(pixels)
    truth = segmentation.labels if truth is None else truth
    reference = scenefloor.reference_labels(segmentation)
    record: dict[str, Any] = {"set": kind, "image": f"{path.parent.name}/{path.name}", "width": pixels.shape[1],
                              "height": pixels.shape[0], "formats": {}}

    def judged(codec: codecs.Codec, data: bytes) -> dict[str, Any]:
        decoded = network.segment(decode_like(codec, data, pixels))
        return {"agreement": scenefloor.agreement(decoded.working_labels, reference),
                "confusion": confusion_matrix(truth, decoded.labels, len(CLASSES)).tolist()}

    for name in formats:
        codec = codecs.get(name)
        runs = {}
        for floor in (0.0, *FLOORS):
            started = time.perf_counter()
            result = api.compress(pixels, segmentation=segmentation, format=name, scene_fidelity=floor)
            seconds = time.perf_counter() - started
            # The same ICC and EXIF as compress keeps: metadata buys the uniform file no pixels.
            uniform = fit_uniform_size(codec, pixels, np.ones(pixels.shape[:2], bool), result.size,
                                       result_settings(result), metadata, start=round(result.roi_quality))
            runs[str(floor)] = {
                "bytes": result.size, "psnr_inside": _finite(result.psnr_inside), "seconds": seconds,
                "bg_quality": result.bg_quality, "fallback": result.fallback, "notes": result.notes,
                **judged(codec, result.data),
                "uniform": None if uniform is None else {"bytes": len(uniform.data), "quality": uniform.quality,
                                                        **judged(codec, uniform.data)},
            }
        record["formats"][name] = runs
    return record


def result_settings(result: api.CompressResult) -> codecs.EncodeSettings:
    return codecs.EncodeSettings(round(result.roi_quality), round(result.bg_quality))


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def summarise(records: list[dict[str, Any]], formats: list[str]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for kind in sorted({r["set"] for r in records}):
        chosen = [r for r in records if r["set"] == kind]
        for name in formats:
            off = sum(r["formats"][name]["0.0"]["bytes"] for r in chosen)
            rows = {}
            for floor in ("0.0", *map(str, FLOORS)):
                runs = [r["formats"][name][floor] for r in chosen]
                matched = [run for run in runs if run["uniform"] is not None]
                psnrs = [run["psnr_inside"] for run in runs if run["psnr_inside"] is not None]
                rows[floor] = {
                    "bytes_vs_off": sum(run["bytes"] for run in runs) / off - 1,
                    "bpp": 8 * sum(run["bytes"] for run in runs) / sum(r["width"] * r["height"] for r in chosen),
                    "psnr_inside": statistics.fmean(psnrs) if psnrs else None,
                    "seconds": statistics.fmean(run["seconds"] for run in runs),
                    "raised": sum(run["bg_quality"] > 25 and not run["fallback"] for run in runs),
                    "fallbacks": sum(bool(run["fallback"]) for run in runs),
                    "agreement": statistics.fmean(run["agreement"] for run in runs),
                    "agreement_min": min(run["agreement"] for run in runs),
                    "miou": _miou(run["confusion"] for run in runs),
                    "uniform_miou": _miou(run["uniform"]["confusion"] for run in matched),
                    "uniform_agreement": statistics.fmean(run["uniform"]["agreement"] for run in matched),
                    "uniform_bytes_vs_file": sum(run["uniform"]["bytes"] for run in matched)
                    / sum(run["bytes"] for run in matched) - 1,
                    "unmatched": len(runs) - len(matched),
                }
            summary[f"{kind}/{name}"] = rows
    return summary


def _miou(confusions: Any) -> float:
    total = sum(np.asarray(c, np.int64) for c in confusions)
    return metrics_from_confusion(total)["miou"]


def markdown(document: dict[str, Any]) -> str:
    settings, results = document["settings"], document["results"]
    lines = [
        "# Scene floor (`--scene-fidelity`)", "",
        f"{results['images']} images ({results['sets']}), formats {', '.join(settings['formats'])}, defaults (roi 85, "
        f"background 25, default policy, compare and fallback on); {machine_line(document)}: times are "
        "indicative.", "", f"Command: `{document['command']}`", "",
        "floor: the share of the original's confident labels (working size, p >= 0.7) the decoded file must "
        "keep; agreement: that share reached (mean, min); mIoU: the shipped model on the decoded file against "
        "the truth (CamVid) or its labels on the original (photos); uniform mIoU: the same on the uniform file "
        "of the same format at the highest quality not bigger (its bytes: 'uniform bytes'); raised: files whose "
        "background the floor raised.", "",
        "| set / format | floor | bytes vs off | bpp | PSNR in | s / image | raised | fallbacks | agreement "
        "(min) | mIoU | uniform mIoU | uniform bytes |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, rows in results["summary"].items():
        for floor, row in rows.items():
            psnr = "-" if row["psnr_inside"] is None else f"{row['psnr_inside']:.2f}"
            lines.append(
                f"| {key} | {'off' if floor == '0.0' else floor} | {100 * row['bytes_vs_off']:+.1f} % | "
                f"{row['bpp']:.3f} | {psnr} | {row['seconds']:.2f} | {row['raised']} | {row['fallbacks']} | "
                f"{row['agreement']:.3f} ({row['agreement_min']:.3f}) | {100 * row['miou']:.1f} | "
                f"{100 * row['uniform_miou']:.1f} | {100 * row['uniform_bytes_vs_file']:+.1f} % |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("--formats", default=",".join(DEFAULT_FORMATS))
    parser.add_argument("--limit", type=int, default=20, help="images per set")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    run = Run("scene_floor", argv, ("onnxruntime", "imagecodecs"))
    formats = [name for name in args.formats.split(",") if name in codecs.available_names()]
    chosen = subset(args.data, args.photos, args.limit)
    records = []
    for index, (kind, path, truth) in enumerate(chosen, 1):
        records.append(measure(kind, path, truth, formats))
        print(f"[{index}/{len(chosen)}] {kind} {path.name}", flush=True)
    summary = summarise(records, formats)
    for one in (one for record in records for runs in record["formats"].values() for one in runs.values()):
        one.pop("confusion")  # pooled into the summary's mIoU
        if one["uniform"] is not None:
            one["uniform"].pop("confusion")
    settings = {"data": str(args.data), "photos": str(args.photos), "limit": args.limit, "formats": formats,
                "floors": list(FLOORS), "confidence": scenefloor.CONFIDENCE,
                "defaults": "roi 85, background 25, default policy, compare and fallback on"}
    sets = sorted({r["set"] for r in records})
    results = {"images": len(records), "sets": ", ".join(f"{k}: {sum(r['set'] == k for r in records)}" for k in sets),
               "summary": summary, "records": records}
    print(markdown(run.write(args.out, settings, results, markdown)))


if __name__ == "__main__":
    main(sys.argv[1:])
