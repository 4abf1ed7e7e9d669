"""From per-image records to a run's figures: average curves, BD-rates, task fidelity, timing, extremes.

Two populations, both stated in the report:

- rate-distortion curves and BD-rates use the images that have an important region and a background
  (an image without one has no PSNR inside or outside); each curve point is the mean bpp and the mean
  of each measure over those images (the "dataset-average curve"); when no image has both, the curves
  use every image (region figures null) and there are no BD-rates;
- task fidelity (mIoU) and timing use every measured image; mIoU is computed from the confusion
  matrices summed over the images, as ``segpress evaluate`` does.

BD-rate: ``segpress.metrics.bd_rate`` (Bjøntegaard's VCEG-M33: a cubic fit of log-rate against
quality for each curve, integrated over the quality range both cover), on bpp against the PSNR of
the important region and against its MS-SSIM in dB (-10 log10(1 - MS-SSIM)), for every semantic mode
against every uniform codec: on the dataset-average curves, and per image (mean, median).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from segpress.evaluation import metrics_from_confusion
from segpress.metrics import bd_rate
from segpress.taxonomy import CLASSES

from .quality import ms_ssim_db
from .settings import MODES

# With the fallback checked, "semantic" is what compress writes and "adaptive" the region-adaptive files
# before the fallback (the semantic mode of a --no-fallback run).
ADAPTIVE = "adaptive"

QUALITY_KEYS = (
    "psnr_whole", "psnr_roi", "psnr_background",
    "ssim_whole", "ssim_roi", "ssim_background",
    "ms_ssim_whole", "ms_ssim_roi", "ms_ssim_background", "ms_ssim_roi_db",
    "psnr_weighted",
)
# The quality measures BD-rates are computed on: key -> words for the report.
BD_METRICS = {
    "psnr_roi": "PSNR of the important region",
    "ms_ssim_roi_db": "MS-SSIM of the important region (dB)",
}
CONFUSION_CLASSES = (*CLASSES, "unlabelled")

Record = dict[str, Any]
ByImage = dict[str, dict[str, Record]]  # image name -> format -> record


def value(point: dict[str, Any], key: str) -> float:
    """A point's measure; ``ms_ssim_roi_db`` is derived from ``ms_ssim_roi``."""
    if key == "ms_ssim_roi_db":
        return ms_ssim_db(point["ms_ssim_roi"])
    found = point[key]
    return math.nan if found is None else found


def finite_mean(values: Iterable[float]) -> float | None:
    kept = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.fmean(kept) if kept else None


def safe_bd_rate(reference: Sequence[tuple[float, float]], test: Sequence[tuple[float, float]]) -> float | None:
    """BD-rate of ``test`` against ``reference``, (rate, quality) points; None where it is undefined
    (a missing or infinite quality, or curves that do not overlap in quality)."""
    if not all(q is not None and math.isfinite(q) for _, q in (*reference, *test)):
        return None
    try:
        return bd_rate([r for r, _ in reference], [q for _, q in reference], [r for r, _ in test], [q for _, q in test])
    except ValueError:
        return None


def group(records: Iterable[Record]) -> ByImage:
    images: ByImage = {}
    for record in records:
        images.setdefault(record["image"]["name"], {})[record["format"]] = record
    return images


def has_region(records: dict[str, Record]) -> bool:
    fraction = next(iter(records.values()))["region_fraction"]
    return 0.0 < fraction < 1.0


def sweep(record: Record, mode: str) -> list[dict[str, Any]]:
    """A record's points of ``mode``; "adaptive": the semantic points with each replaced file's own point."""
    if mode == ADAPTIVE:
        return [p.get("adaptive") or p for p in record["points"]["semantic"]]
    return record["points"][mode]


def modes(fallback: bool) -> tuple[str, ...]:
    return (*MODES, ADAPTIVE) if fallback else MODES


def image_bd_rate(records: dict[str, Record], semantic: str, uniform: str, metric: str,
                  mode: str = "semantic") -> float | None:
    """One image's BD-rate of ``semantic``'s semantic (or adaptive) mode against ``uniform``'s uniform mode."""
    test = [(p["bpp"], value(p, metric)) for p in sweep(records[semantic], mode)]
    reference = [(p["bpp"], value(p, metric)) for p in records[uniform]["points"]["uniform"]]
    return safe_bd_rate(reference, test)


def average_curves(images: ByImage, formats: Sequence[str],
                   kinds: Sequence[str] = MODES) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """Per format and mode, per quality: the mean bpp and the mean of every measure over ``images``."""
    curves: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for format in formats:
        curves[format] = {}
        for mode in kinds:
            sweeps = [sweep(records[format], mode) for records in images.values()]
            curve = []
            for index, first in enumerate(sweeps[0] if sweeps else []):
                points = [one[index] for one in sweeps]
                curve.append({
                    "quality": first["quality"], "bg_quality": first["bg_quality"], "images": len(points),
                    "bpp": finite_mean(p["bpp"] for p in points),
                    **{key: finite_mean(value(p, key) for p in points) for key in QUALITY_KEYS},
                })
            curves[format][mode] = curve
    return curves


def bd_tables(images: ByImage, curves: dict[str, Any], formats: Sequence[str], mode: str = "semantic") -> dict[str, Any]:
    """``[metric][semantic format][uniform format]``: average-curve BD-rate, mean and median over images, of
    the semantic mode (or the adaptive files, ``mode`` "adaptive") against each uniform mode."""
    tables: dict[str, Any] = {}
    for metric in BD_METRICS:
        tables[metric] = {}
        for semantic in formats:
            test = [(p["bpp"], p[metric]) for p in curves[semantic][mode]]
            row = {}
            for uniform in formats:
                reference = [(p["bpp"], p[metric]) for p in curves[uniform]["uniform"]]
                per_image = [image_bd_rate(records, semantic, uniform, metric, mode) for records in images.values()]
                defined = [v for v in per_image if v is not None]
                row[uniform] = {
                    "average_curve": safe_bd_rate(reference, test),
                    "mean": statistics.fmean(defined) if defined else None,
                    "median": statistics.median(defined) if defined else None,
                    "images": len(defined),
                    "undefined": len(per_image) - len(defined),
                }
            tables[metric][semantic] = row
    return tables


def _segmentation_scores(confusion: np.ndarray) -> dict[str, Any]:
    metrics = metrics_from_confusion(confusion, CONFUSION_CLASSES)
    iou = {name: v for name, v in metrics["iou"].items() if name != "unlabelled"}
    return {"miou": metrics["miou"], "pixel_accuracy": metrics["pixel_accuracy"], "iou": iou}


def task_fidelity(images: ByImage, formats: Sequence[str], kinds: Sequence[str] = MODES) -> dict[str, Any]:
    """mIoU of the model on decoded images against the ground truth (when given) and against its own
    labels on the originals, per format, mode and quality, with the mean bpp; and on the originals."""
    size = len(CONFUSION_CLASSES)
    with_truth = all(next(iter(r.values()))["confusion_original"] is not None for r in images.values())
    result: dict[str, Any] = {"ground_truth": with_truth, "original": None, "curves": {}}
    if with_truth:
        total = sum((np.asarray(next(iter(r.values()))["confusion_original"]) for r in images.values()),
                    np.zeros((size, size), np.int64))
        result["original"] = _segmentation_scores(total)
    for format in formats:
        result["curves"][format] = {}
        for mode in kinds:
            sweeps = [sweep(records[format], mode) for records in images.values()]
            curve = []
            for index, first in enumerate(sweeps[0] if sweeps else []):
                points = [one[index] for one in sweeps]
                entry = {"quality": first["quality"], "bpp": finite_mean(p["bpp"] for p in points)}
                original = sum((np.asarray(p["confusion_original"]) for p in points), np.zeros((size, size), np.int64))
                scores = _segmentation_scores(original)
                entry.update(miou_original=scores["miou"], pixel_accuracy_original=scores["pixel_accuracy"])
                if with_truth:
                    truth = sum((np.asarray(p["confusion_truth"]) for p in points), np.zeros((size, size), np.int64))
                    scores = _segmentation_scores(truth)
                    entry.update(miou_truth=scores["miou"], pixel_accuracy_truth=scores["pixel_accuracy"])
                curve.append(entry)
            result["curves"][format][mode] = curve
    return result


def _judged_uniform_bytes(uniform: list[dict[str, Any]], inside: float | None) -> float | None:
    """Bytes of the image's uniform sweep at PSNR inside ``inside`` (the judge's region), log-linear between
    the sweep's points; None outside the range the sweep covers."""
    points = sorted((p["psnr_roi"], p["bytes"]) for p in uniform if p["psnr_roi"] is not None and math.isfinite(p["psnr_roi"]))
    if inside is None or not math.isfinite(inside) or len(points) < 2 or not points[0][0] <= inside <= points[-1][0]:
        return None
    return float(np.exp(np.interp(inside, [q for q, _ in points], [math.log(b) for _, b in points])))


def fallback_summary(images: ByImage, formats: Sequence[str]) -> dict[str, Any]:
    """compress's fallback on the semantic sweep, per format and quality, and in all.

    ``checked``: points with an important region (the others compress leaves alone); ``fired``: the uniform file
    was written; ``larger_than_uniform``: files (as written) larger than the smallest uniform file that reaches
    their PSNR inside the model's region, the ground rule's count (0 by construction of the check);
    ``above_interpolated``: adaptive files kept though above the interpolated uniform size (within one quality
    step no whole-quality uniform file is smaller); ``saving``: the mean saving as compress reports it (0 for a
    uniform file written), ``saving_adaptive`` the mean saving of the adaptive files (negative where the fallback fired);
    ``judged_larger`` / ``judged``: region-adaptive files written that are larger than the image's uniform sweep at
    the same PSNR inside the judge's region (interpolated between the sweep's qualities; ``judged``: those inside
    the sweep's PSNR range). The judge's region (ground truth, or the model's expected weight) is not the one
    compress checks (the policy's map rule), so this count need not be 0.
    """
    def tally(points: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> dict[str, Any]:
        checked = [(p, uniform) for p, uniform in points if p.get("check") is not None]
        # A uniform file written by the fallback is the uniform curve itself: only the region-adaptive files are judged.
        judged = [(p, _judged_uniform_bytes(uniform, p["psnr_roi"])) for p, uniform in points if not p.get("fallback")]
        judged = [(p, size) for p, size in judged if size is not None]
        def reaching(p: dict[str, Any]) -> int | None:
            return p["check"]["reaching_bytes"]
        return {
            "points": len(points), "checked": len(checked),
            "fired": sum(1 for p, _ in checked if p["fallback"]),
            "larger_than_uniform": sum(1 for p, _ in checked if reaching(p) is not None and p["bytes"] > reaching(p)),
            "above_interpolated": sum(1 for p, _ in checked if not p["fallback"] and p["bytes"] > p["check"]["uniform_bytes"]),
            "saving": finite_mean(0.0 if p["fallback"] else 1 - p["bytes"] / p["check"]["uniform_bytes"] for p, _ in checked),
            "saving_adaptive": finite_mean(1 - (p.get("adaptive") or p)["bytes"] / p["check"]["uniform_bytes"]
                                           for p, _ in checked),
            "judged": len(judged), "judged_larger": sum(1 for p, size in judged if p["bytes"] > size),
        }

    result: dict[str, Any] = {"formats": {}}
    everything = []
    for format in formats:
        pairs = [(p, records[format]["points"]["uniform"]) for records in images.values()
                 for p in records[format]["points"]["semantic"]]
        everything += pairs
        qualities = sorted({p["quality"] for p, _ in pairs})
        result["formats"][format] = {
            "all": tally(pairs),
            "by_quality": {str(q): tally([(p, u) for p, u in pairs if p["quality"] == q]) for q in qualities},
        }
    result["all"] = tally(everything)
    return result


def equal_bytes(task: dict[str, Any], formats: Sequence[str], mode: str = "semantic") -> dict[str, Any]:
    """The model's mIoU on semantic (or adaptive) files against its mIoU on uniform files of the same size.

    Per format, at each semantic point whose mean bpp lies within the uniform curve's range: the uniform
    mIoU interpolated there (linear in log bpp), and the difference (semantic - uniform, in [0, 1] units).
    ``not_below``: every compared point at least as high; None when no point could be compared.
    mIoU against the ground truth where the run has it, else against the model's labels on the originals.
    """
    key = "miou_truth" if task["ground_truth"] else "miou_original"
    result: dict[str, Any] = {"miou": key, "mode": mode, "formats": {}}
    for format in formats:
        curves = task["curves"][format]
        uniform = sorted((p["bpp"], p[key]) for p in curves["uniform"] if p["bpp"] and p.get(key) is not None)
        compared = []
        for point in curves.get(mode, []):
            bpp, miou = point["bpp"], point.get(key)
            if not uniform or not bpp or miou is None or not uniform[0][0] <= bpp <= uniform[-1][0]:
                continue
            at = float(np.interp(math.log(bpp), [math.log(b) for b, _ in uniform], [m for _, m in uniform]))
            compared.append({"quality": point["quality"], "bpp": bpp, "semantic": miou, "uniform": at,
                             "difference": miou - at})
        differences = [c["difference"] for c in compared]
        result["formats"][format] = {
            "points": compared,
            "mean_difference": statistics.fmean(differences) if differences else None,
            "min_difference": min(differences) if differences else None,
            "not_below": all(d >= 0 for d in differences) if differences else None,
        }
    return result


def timing(images: ByImage, formats: Sequence[str]) -> dict[str, Any]:
    """Milliseconds per megapixel (total time over total pixels) of encode, decode and segmentation."""
    def megapixels(record: Record) -> float:
        return record["image"]["width"] * record["image"]["height"] / 1e6

    codecs_timing: dict[str, Any] = {}
    for format in formats:
        codecs_timing[format] = {}
        for mode in MODES:
            records = [r[format] for r in images.values()]
            area = sum(megapixels(r) * len(r["points"][mode]) for r in records)
            totals = {key: sum(p[key] for r in records for p in r["points"][mode]) for key in ("encode_s", "decode_s")}
            codecs_timing[format][mode] = {
                "encode_ms_per_mp": 1000 * totals["encode_s"] / area if area else None,
                "decode_ms_per_mp": 1000 * totals["decode_s"] / area if area else None,
            }
            if mode == "semantic":  # the fallback check: its decode, PSNR and the uniform encodes the sweep had not made
                checks = [p["check"] for r in records for p in r["points"][mode] if p.get("check")]
                codecs_timing[format][mode]["check_ms_per_mp"] = (
                    1000 * sum(c["seconds"] for c in checks) / area if area and checks else None)
                codecs_timing[format][mode]["check_encodes"] = sum(c["encodes"] for c in checks)
    firsts = [next(iter(r.values())) for r in images.values()]
    area = sum(megapixels(r) for r in firsts)
    seconds = [r["segment_s"] for r in firsts]
    return {
        "codecs": codecs_timing,
        "segment_ms_per_image": 1000 * statistics.fmean(seconds) if seconds else None,
        "segment_ms_per_mp": 1000 * sum(seconds) / area if area else None,
    }


def extremes(images: ByImage, format: str, count: int = 1) -> dict[str, Any]:
    """The images where ``format``'s semantic mode gains most and least over its uniform mode (BD-rate, PSNR inside)."""
    scores = {name: image_bd_rate(records, format, format, "psnr_roi") for name, records in images.items()}
    ranked = sorted((v, name) for name, v in scores.items() if v is not None)
    best = [name for _, name in ranked[:count]]
    worst = [name for _, name in reversed(ranked[-count:]) if name not in best]
    return {"format": format, "metric": "psnr_roi", "best": best, "worst": worst,
            "bd_rate": {name: scores[name] for name in (*best, *worst)}}


def summarise(records: Sequence[Record], formats: Sequence[str], fallback: bool = True) -> dict[str, Any]:
    """Every figure of the run (the results file's ``summary``); ``fallback``: the run checked compress's
    fallback (the semantic points are the files compress writes, the adaptive ones kept beside them)."""
    images = group(records)
    with_region = {name: r for name, r in images.items() if has_region(r)}
    kinds = modes(fallback)
    # Without any region the curves still show bpp, the whole image and the background (region figures null).
    curves = average_curves(with_region or images, formats, kinds)
    task = task_fidelity(images, formats, kinds)
    return {
        "images": len(images),
        "images_with_region": len(with_region),
        "curve_images": "with_region" if with_region else "all",
        "images_without_region": sorted(set(images) - set(with_region)),
        "region_fraction_mean": finite_mean(next(iter(r.values()))["region_fraction"] for r in images.values()),
        "curves": curves,
        "bd_rate": bd_tables(with_region, curves, formats) if with_region else None,
        "bd_rate_adaptive": bd_tables(with_region, curves, formats, ADAPTIVE) if with_region and fallback else None,
        "fallback": fallback_summary(images, formats) if fallback else None,
        "task": task,
        "equal_bytes": {mode: equal_bytes(task, formats, mode) for mode in kinds if mode != "uniform"},
        "timing": timing(images, formats),
        "extremes": extremes(with_region, formats[0]) if with_region else None,
    }
