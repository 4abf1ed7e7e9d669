"""Benchmark for "more formats": region-adaptive WebP, AVIF, JPEG 2000 and JPEG XL (pixels) by conditioning.

For every image with an important region and every format (webp, avif, jxl-pixels, j2k, and jpeg, jxl
for reference) it measures, in one run:

1. a rate-distortion sweep, roi quality Q in ROI_QUALITIES with background quality min(25, Q), against
   the uniform encode of the same format at the same Q;
   BD-rate on (bytes, PSNR inside the region) against that uniform curve and against uniform AVIF's;
2. the defaults (roi 85, background 25): PSNR inside / outside, bytes against the
   uniform encode at 85;
3. encode time per megapixel (best of TIMING_REPEATS) of the plain (uniform) encode at 85, the
   region-adaptive encode at the defaults, and the background conditioning alone;
4. on a subset (every RATE_EVERY-th image), rate control: ``fit_size`` for byte budgets of
   SIZE_FACTORS x the default file and ``fit_roi_psnr`` for PSNR_TARGETS: sizes within 3 % under the
   target, never over, in at most 8 encodes.

Datasets, regions and importance maps are those of ``jpeg_roi.py`` (imported from it): CamVid val (sign,
car, pedestrian, bicyclist dilated 8 px) and five scikit-image photos. Writes
benchmarks/results/pixel_codecs.json and pixel_codecs.md; see benchmarks/README.md.

Usage: .venv/bin/python benchmarks/pixel_codecs.py [--camvid DIR] [--limit N] [--formats a,b] [--out DIR]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import imagecodecs
import numpy as np
from common import (
    CAMVID_CLASSES,
    CAMVID_DILATION,
    DEFAULT_CAMVID,
    DEFAULT_OUT,
    IMPORTANCE_NOTE,
    PHOTOS,
    TIMING_REPEATS,
    Sample,
    best_times,
    camvid_samples,
    collect,
    console,
    pct,
    photo_samples,
    safe_bd_rate,
    target,
)
from PIL import features
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from segpress import codecs, conditioning
from segpress.bench.record import Run, machine_line
from segpress.codecs import EncodeSettings, Metadata
from segpress.codecs.base import DEFAULT_BG_QUALITY, DEFAULT_ROI_QUALITY
from segpress.codecs.conditioned import ConditionedCodec
from segpress.metrics import bits_per_pixel, psnr
from segpress.ratecontrol import (
    MAX_ENCODES,
    SIZE_TOLERANCE,
    decode_like,
    fit_roi_psnr,
    fit_size,
)

FORMATS = ("webp", "avif", "jxl-pixels", "j2k", "jpeg", "jxl")
REFERENCE = "avif"  # every format is also compared with uniform AVIF
ROI_QUALITIES = (50, 60, 70, 80, 90, 95)
SUBSAMPLING = "4:2:0"
RATE_EVERY = 10  # rate control on images 0, 10, 20, ... of each dataset
SIZE_FACTORS = (0.5, 0.8, 1.25, 2.0)  # byte budgets, times the file at the defaults
PSNR_TARGETS = (33.0, 38.0)  # dB inside the region

# Targets (CamVid val): BD-rate on PSNR inside, the background at the defaults, conditioning
# cost, rate control.
AVIF_BD_TARGET = -60.0  # percent, AVIF mode vs uniform AVIF
AVIF_OUTSIDE_TARGET = 24.0  # dB, mean PSNR outside at AVIF's defaults
OWN_BD_TARGET = -50.0  # percent, WebP and JPEG XL (pixels) modes vs their own uniform encodes
OWN_BD_FORMATS = ("webp", "jxl-pixels")
OUTSIDE_FLOOR = 24.0  # dB: the background stays recognisable at every format's defaults (segpress's own)
CONDITIONING_TARGET = 60.0  # ms/MP
RATE_ENCODES_TARGET = MAX_ENCODES


def settings_for(codec: codecs.Codec, roi_quality: float) -> EncodeSettings:
    return EncodeSettings(roi_quality, min(DEFAULT_BG_QUALITY, roi_quality), True, SUBSAMPLING)


def figures(data: bytes, sample: Sample, codec: codecs.Codec) -> dict[str, float]:
    decoded = decode_like(codec, data, sample.pixels)
    height, width = sample.region.shape
    return {
        "bytes": len(data),
        "bpp": bits_per_pixel(len(data), height, width),
        "psnr_inside": psnr(sample.pixels, decoded, sample.region),
        "psnr_outside": psnr(sample.pixels, decoded, ~sample.region),
    }


# --- measurements -----------------------------------------------------------------------------------


def sweep(codec: codecs.Codec, sample: Sample, importance: np.ndarray) -> list[dict[str, Any]]:
    points = []
    for quality in ROI_QUALITIES:
        settings = settings_for(codec, quality)
        adaptive = codec.encode(sample.pixels, importance, settings, Metadata())
        uniform = codec.encode_uniform(sample.pixels, quality, settings, Metadata())
        points.append({
            "quality": quality,
            "adaptive": figures(adaptive, sample, codec),
            "uniform": figures(uniform, sample, codec),
        })
    return points


def curve_bd(reference: list[dict[str, Any]], test: list[dict[str, Any]], rate_key: str = "bytes") -> float | None:
    """BD-rate of the adaptive curve of ``test`` against the uniform curve of ``reference``."""
    return safe_bd_rate(
        [p["uniform"][rate_key] for p in reference], [p["uniform"]["psnr_inside"] for p in reference],
        [p["adaptive"][rate_key] for p in test], [p["adaptive"]["psnr_inside"] for p in test],
    )


def defaults_and_timing(codec: codecs.Codec, sample: Sample, importance: np.ndarray) -> dict[str, Any]:
    """Files at the defaults and encode seconds (best of TIMING_REPEATS, calls alternating)."""
    settings = settings_for(codec, DEFAULT_ROI_QUALITY)
    pixels = sample.pixels
    files: dict[str, bytes] = {}

    def keep(name: str, call):
        def run() -> None:
            files[name] = call()
        return run

    calls = {
        "plain": keep("uniform", lambda: codec.encode_uniform(pixels, DEFAULT_ROI_QUALITY, settings, Metadata())),
        "adaptive": keep("adaptive", lambda: codec.encode(pixels, importance, settings, Metadata())),
    }
    if isinstance(codec, ConditionedCodec):
        strength = codec.strength(settings)
        calls["conditioning"] = lambda: conditioning.condition(pixels, importance, strength)
    seconds = best_times(calls)
    return {
        "settings": {"roi_quality": settings.roi_quality, "bg_quality": settings.bg_quality},
        "adaptive": figures(files["adaptive"], sample, codec),
        "uniform": figures(files["uniform"], sample, codec),
        "encode_seconds": seconds,
    }


def rate_control(codec: codecs.Codec, sample: Sample, importance: np.ndarray, default_bytes: int) -> dict[str, Any]:
    settings = settings_for(codec, DEFAULT_ROI_QUALITY)
    sizes = []
    for factor in SIZE_FACTORS:
        goal = int(factor * default_bytes)
        started = time.perf_counter()
        result = fit_size(codec, sample.pixels, importance, sample.region, goal, settings, Metadata())
        sizes.append({
            "factor": factor, "target": goal, "bytes": result.size, "encodes": result.encodes,
            "over": result.size > goal, "within": (1 - SIZE_TOLERANCE) * goal <= result.size <= goal,
            "roi_quality": result.roi_quality, "bg_quality": result.bg_quality, "note": result.note,
            "seconds": time.perf_counter() - started,
        })
    psnrs = []
    for goal in PSNR_TARGETS:
        result = fit_roi_psnr(codec, sample.pixels, importance, sample.region, goal, settings, Metadata())
        psnrs.append({
            "target": goal, "psnr_inside": result.psnr_inside, "encodes": result.encodes,
            "reached": result.reached, "roi_quality": result.roi_quality, "note": result.note,
        })
    return {"size": sizes, "psnr": psnrs}


def measure(sample: Sample, names: tuple[str, ...], check_rate: bool) -> dict[str, Any]:
    importance = sample.region.astype(np.float32)
    height, width = sample.region.shape
    results: dict[str, Any] = {}
    for name in names:
        codec = codecs.get(name)
        points = sweep(codec, sample, importance)
        defaults = defaults_and_timing(codec, sample, importance)
        results[name] = {
            "sweep": points,
            "bd_rate_percent": curve_bd(points, points),
            "defaults": defaults,
            "rate_control": (rate_control(codec, sample, importance, defaults["adaptive"]["bytes"])
                             if check_rate else None),
        }
    if REFERENCE in results:
        for name, result in results.items():
            result["bd_rate_vs_avif_percent"] = curve_bd(results[REFERENCE]["sweep"], result["sweep"])
    return {
        "name": sample.name, "width": width, "height": height,
        "region_fraction": float(sample.region.mean()), "formats": results,
    }


# --- summary ----------------------------------------------------------------------------------------


def average_curve(records: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    curve = []
    for index, quality in enumerate(ROI_QUALITIES):
        points = [record["formats"][name]["sweep"][index] for record in records]
        curve.append({"quality": quality} | {
            side: {key: statistics.fmean(p[side][key] for p in points) for key in ("bpp", "psnr_inside", "psnr_outside")}
            for side in ("adaptive", "uniform")
        })
    return curve


def spread(values: list[float | None]) -> dict[str, Any]:
    defined = [value for value in values if value is not None]
    return {
        "mean": statistics.fmean(defined) if defined else None,
        "median": statistics.median(defined) if defined else None,
        "undefined_images": len(values) - len(defined),
    }


def format_summary(records: list[dict[str, Any]], name: str) -> dict[str, Any]:
    results = [record["formats"][name] for record in records]
    curve = average_curve(records, name)
    own = spread([result["bd_rate_percent"] for result in results]) | {"average_curve": curve_bd(curve, curve, "bpp")}
    versus = None
    if REFERENCE in records[0]["formats"]:
        reference = average_curve(records, REFERENCE)
        versus = spread([result["bd_rate_vs_avif_percent"] for result in results]) | {
            "average_curve": curve_bd(reference, curve, "bpp")
        }
    outside = [result["defaults"]["adaptive"]["psnr_outside"] for result in results]
    adaptive_bytes = statistics.fmean(result["defaults"]["adaptive"]["bytes"] for result in results)
    uniform_bytes = statistics.fmean(result["defaults"]["uniform"]["bytes"] for result in results)
    defaults = {
        "settings": results[0]["defaults"]["settings"],
        "psnr_outside_mean": statistics.fmean(outside),
        "psnr_outside_min": min(outside),
        "psnr_outside_below_floor": sum(value < OUTSIDE_FLOOR for value in outside),
        "psnr_inside_mean": statistics.fmean(result["defaults"]["adaptive"]["psnr_inside"] for result in results),
        "uniform_psnr_inside_mean": statistics.fmean(result["defaults"]["uniform"]["psnr_inside"] for result in results),
        "bytes_mean": adaptive_bytes,
        "uniform_bytes_mean": uniform_bytes,
        "saving_percent": 100.0 * (1.0 - adaptive_bytes / uniform_bytes),
    }
    megapixels = sum(record["width"] * record["height"] for record in records) / 1e6
    speed = {
        key: 1000.0 * sum(result["defaults"]["encode_seconds"][key] for result in results) / megapixels
        for key in results[0]["defaults"]["encode_seconds"]
    }
    speed["adaptive_over_plain"] = speed["adaptive"] / speed["plain"]
    if "conditioning" in speed:
        speed["conditioning_over_plain"] = speed["conditioning"] / speed["plain"]
    return {
        "bd_rate_percent": own,
        "bd_rate_vs_avif_percent": versus,
        "average_curve": curve,
        "defaults": defaults,
        "encode_ms_per_mp": speed,
        "rate_control": rate_summary([result["rate_control"] for result in results if result["rate_control"]]),
    }


def rate_summary(checks: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not checks:
        return None
    sizes = [entry for check in checks for entry in check["size"]]
    psnrs = [entry for check in checks for entry in check["psnr"]]
    return {
        "images": len(checks),
        "size_targets": len(sizes),
        "size_within": sum(entry["within"] for entry in sizes),
        "size_over": sum(entry["over"] for entry in sizes),
        "size_encodes_mean": statistics.fmean(entry["encodes"] for entry in sizes),
        "size_encodes_max": max(entry["encodes"] for entry in sizes),
        "size_under_worst_percent": max(100 * (1 - entry["bytes"] / entry["target"]) for entry in sizes),
        "psnr_targets": len(psnrs),
        "psnr_reached": sum(entry["reached"] for entry in psnrs),
        "psnr_below": sum(entry["psnr_inside"] < entry["target"] for entry in psnrs),
        "psnr_encodes_mean": statistics.fmean(entry["encodes"] for entry in psnrs),
        "psnr_encodes_max": max(entry["encodes"] for entry in psnrs),
        "psnr_above_mean_db": statistics.fmean(entry["psnr_inside"] - entry["target"] for entry in psnrs),
    }


def targets_for(formats: dict[str, dict[str, Any]], primary: bool) -> dict[str, Any]:
    """The targets that apply to this dataset (BD-rate and background on CamVid only)."""
    found: dict[str, Any] = {}
    if primary and REFERENCE in formats:
        avif = formats[REFERENCE]
        for key in ("average_curve", "mean", "median"):
            found[f"avif_bd_rate_{key}"] = target(avif["bd_rate_percent"][key], AVIF_BD_TARGET, True, "%")
        found["avif_psnr_outside_mean"] = target(avif["defaults"]["psnr_outside_mean"], AVIF_OUTSIDE_TARGET,
                                                 False, "dB")
    for name in OWN_BD_FORMATS:
        if primary and name in formats:
            for key in ("average_curve", "mean", "median"):
                found[f"{name}_bd_rate_{key}"] = target(formats[name]["bd_rate_percent"][key], OWN_BD_TARGET, True, "%")
    for name, summary in formats.items():
        found[f"{name}_psnr_outside_floor"] = target(summary["defaults"]["psnr_outside_mean"], OUTSIDE_FLOOR,
                                                     False, "dB")
        if "conditioning" in summary["encode_ms_per_mp"]:
            found[f"{name}_conditioning"] = target(summary["encode_ms_per_mp"]["conditioning"], CONDITIONING_TARGET,
                                                   True, "ms/MP")
        rate = summary["rate_control"]
        if rate is not None:
            found[f"{name}_rate_within"] = {
                "value": f"{rate['size_within']}/{rate['size_targets']}",
                "text": "all within 3 % under", "met": rate["size_within"] == rate["size_targets"],
            }
            found[f"{name}_rate_encodes"] = target(max(rate["size_encodes_max"], rate["psnr_encodes_max"]),
                                                   RATE_ENCODES_TARGET, True, "encodes")
    return found


def summarise(records: list[dict[str, Any]], skipped: int, seconds: float, primary: bool) -> dict[str, Any]:
    formats = {name: format_summary(records, name) for name in records[0]["formats"]}
    return {
        "images": len(records),
        "skipped_empty_region": skipped,
        "region_fraction_mean": statistics.fmean(record["region_fraction"] for record in records),
        "formats": formats,
        "targets": targets_for(formats, primary),
        "run_seconds": seconds,
    }


# --- report -----------------------------------------------------------------------------------------


def number(value: float | None, spec: str) -> str:
    return "n/a" if value is None or not math.isfinite(value) else format(value, spec)


def format_rows(summary: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, s in summary["formats"].items():
        own, versus, d = s["bd_rate_percent"], s["bd_rate_vs_avif_percent"], s["defaults"]
        rows.append([
            name,
            f"{pct(own['average_curve'])} ({pct(own['mean'])}, {pct(own['median'])})",
            "n/a" if versus is None else f"{pct(versus['average_curve'])} ({pct(versus['mean'])})",
            f"{number(d['settings']['roi_quality'], 'g')} / {number(d['settings']['bg_quality'], 'g')}",
            f"{d['psnr_outside_mean']:.2f} ({d['psnr_outside_min']:.2f})",
            f"{d['psnr_inside_mean']:.2f} / {d['uniform_psnr_inside_mean']:.2f}",
            f"{d['bytes_mean']:,.0f} / {d['uniform_bytes_mean']:,.0f} ({d['saving_percent']:.1f} %)",
        ])
    return rows


FORMAT_HEADER = [
    "format", "BD-rate vs own uniform: avg curve (mean, median)", "BD-rate vs uniform AVIF: avg curve (mean)",
    "defaults roi / bg", "PSNR out at defaults: mean (min)", "PSNR in at defaults / uniform 85",
    "bytes at defaults / uniform 85",
]


def speed_rows(summary: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, s in summary["formats"].items():
        speed = s["encode_ms_per_mp"]
        conditioning_text = "-"
        if "conditioning" in speed:
            conditioning_text = f"{speed['conditioning']:.1f} ({speed['conditioning_over_plain']:.2f}x)"
        rows.append([name, f"{speed['plain']:.1f}", f"{speed['adaptive']:.1f} ({speed['adaptive_over_plain']:.2f}x)",
                     conditioning_text])
    return rows


SPEED_HEADER = ["format", "plain encode at 85, ms/MP", "region-adaptive at defaults, ms/MP (x plain)",
                "conditioning alone, ms/MP (x plain encode)"]


def rate_rows(summary: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, s in summary["formats"].items():
        rate = s["rate_control"]
        if rate is None:
            continue
        rows.append([
            name,
            f"{rate['size_within']}/{rate['size_targets']} ({rate['size_over']} over; worst {rate['size_under_worst_percent']:.1f} % under)",
            f"{rate['size_encodes_mean']:.1f} / {rate['size_encodes_max']}",
            f"{rate['psnr_reached']}/{rate['psnr_targets']} ({rate['psnr_below']} below; +{rate['psnr_above_mean_db']:.2f} dB)",
            f"{rate['psnr_encodes_mean']:.1f} / {rate['psnr_encodes_max']}",
        ])
    return rows


RATE_HEADER = ["format", "size targets within 3 % under", "encodes mean / max", "PSNR targets reached",
               "encodes mean / max"]


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def target_rows(summary: dict[str, Any]) -> list[list[str]]:
    rows = []
    for key, found in summary["targets"].items():
        value = found["value"]
        shown = value if isinstance(value, str) else number(value, ".2f" if "psnr" in key else ".1f")
        rows.append([key, shown, found["text"], "met" if found["met"] else "**missed**"])
    return rows


def conditioning_text(conditioning: dict[str, Any]) -> str:
    return f"{conditioning['method']} x{conditioning['scale']:g}" + (
        f" ({conditioning['block']} px blocks)" if conditioning["block"] else "")


def calibration_rows(summary: dict[str, Any], conditioning: dict[str, dict[str, Any]]) -> list[list[str]]:
    """What each conditioned format's calibration gives: the figures its scale was chosen on."""
    rows = []
    for name, found in conditioning.items():
        s = summary["formats"].get(name)
        if s is None:
            continue
        versus, speed = s["bd_rate_vs_avif_percent"], s["encode_ms_per_mp"]
        rows.append([name, conditioning_text(found), f"{s['defaults']['psnr_outside_mean']:.2f}",
                     pct(s["bd_rate_percent"]["average_curve"]), "n/a" if versus is None else pct(versus["average_curve"]),
                     number(speed.get("conditioning"), ".1f")])
    return rows


CALIBRATION_HEADER = ["format", "conditioning", "PSNR out at defaults, dB", "BD-rate vs own uniform (avg curve)",
                      "vs uniform AVIF", "conditioning, ms/MP"]


def markdown(report: dict[str, Any]) -> str:
    v, st = report["versions"], report["settings"]
    lines = [
        "# pixel_codecs: region-adaptive WebP, AVIF, JPEG 2000 and JPEG XL (pixels)",
        "",
        (f"{machine_line(report)}; segpress {v['segpress']}, "
         f"Pillow {v['pillow']}, libwebp {v['libwebp']}, libavif {v['libavif']}, OpenJPEG {v['openjpeg']}, "
         f"{v['libjxl']}."),
        (f"Sweep: roi quality {', '.join(map(str, ROI_QUALITIES))} with bg quality min({DEFAULT_BG_QUALITY}, roi), "
         f"against the uniform encode of the same format at the same qualities; BD-rate on (bytes, PSNR "
         f"inside). Defaults: roi {DEFAULT_ROI_QUALITY}, bg {DEFAULT_BG_QUALITY}; conditioning per format: "
         f"{', '.join(f'{name} {conditioning_text(c)}' for name, c in st['conditioning'].items())}. "
         f"Encode times: best of {TIMING_REPEATS}, total over total megapixels. AVIF speed "
         f"{st['avif_speed']}, JPEG XL effort {st['jxl_effort']}, WebP method {st['webp_method']}."),
        f"Importance: {IMPORTANCE_NOTE}.",
    ]
    for name, dataset in report["results"]["datasets"].items():
        s = dataset["summary"]
        heading = (f"## {name}: {s['images']} images ({s['skipped_empty_region']} skipped, no important pixel), "
                   f"region {100 * s['region_fraction_mean']:.1f} % of the pixels")
        lines += ["", heading, ""]
        calibrated = calibration_rows(s, st["conditioning"])
        if calibrated:
            lines += ["Conditioning calibration: each conditioned format's method and scale, and what they give "
                      "here (the scales were chosen on CamVid val frames, how: benchmarks/README.md):", "",
                      *table(CALIBRATION_HEADER, calibrated), ""]
        lines += table(FORMAT_HEADER, format_rows(s))
        lines += ["", *table(SPEED_HEADER, speed_rows(s))]
        rates = rate_rows(s)
        if rates:
            images = next(f["rate_control"]["images"] for f in s["formats"].values() if f["rate_control"])
            intro = (f"Rate control on {images} images (every {RATE_EVERY}th), byte budgets "
                     f"{', '.join(f'{x:g}x' for x in SIZE_FACTORS)} the file at the defaults, PSNR targets "
                     f"{', '.join(f'{x:g}' for x in PSNR_TARGETS)} dB inside:")
            lines += ["", intro, ""]
            lines += table(RATE_HEADER, rates)
        lines += ["", *table(["target", "value", "wanted", "status"], target_rows(s))]
        lines.append(f"\nRun time: {s['run_seconds']:.0f} s.")
    lines += ["", f"Reproduce: `{report['command']}`", ""]
    return "\n".join(lines)


def print_summary(report: dict[str, Any]) -> None:
    for name, dataset in report["results"]["datasets"].items():
        s = dataset["summary"]
        print(f"\n{name}: {s['images']} images")
        for header, rows in ((FORMAT_HEADER, format_rows(s)), (SPEED_HEADER, speed_rows(s)),
                             (RATE_HEADER, rate_rows(s))):
            for row in rows:
                print("  " + "; ".join(f"{h}: {c}" for h, c in zip(header, row, strict=True)))
        for row in target_rows(s):
            print(f"  target {row[0]}: {row[1]} ({row[2]}): {row[3].strip('*')}")


# --- main -------------------------------------------------------------------------------------------


def run_dataset(progress: Progress, label: str, samples: Iterator[Sample | None], total: int, primary: bool,
                names: tuple[str, ...]) -> dict[str, Any]:
    records, skipped, seconds = collect(
        progress, label, samples, total,
        lambda index, sample: measure(sample, names, check_rate=index % RATE_EVERY == 0),
    )
    return {"images": len(records), "summary": summarise(records, skipped, seconds, primary), "per_image": records}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camvid", type=Path, default=DEFAULT_CAMVID,
                        help="CamVid folder with val/ and valannot/ (default: ../shared/data/camvid from the repo)")
    parser.add_argument("--limit", type=int, help="only the first N CamVid val images, for a quick check")
    parser.add_argument("--formats", default=",".join(FORMATS),
                        help=f"comma-separated formats (default: {','.join(FORMATS)}; avif is needed for the "
                             "comparison with uniform AVIF)")
    parser.add_argument("--no-photos", action="store_true", help="CamVid only")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results folder (default: benchmarks/results)")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    args.formats = tuple(name.strip() for name in args.formats.split(",") if name.strip())
    unknown = [name for name in args.formats if name not in codecs.available_names()]
    if unknown:
        parser.error(f"unknown or unavailable format(s): {', '.join(unknown)}; have {', '.join(codecs.available_names())}")
    return args


def run_datasets(args: argparse.Namespace) -> dict[str, Any]:
    datasets = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        val, annot = args.camvid / "val", args.camvid / "valannot"
        if val.is_dir() and annot.is_dir():
            files = sorted(val.glob("*.png"))[: args.limit]
            datasets["camvid_val"] = run_dataset(progress, "CamVid val", camvid_samples(files, annot), len(files),
                                                 True, args.formats)
        else:
            print(f"CamVid not found at {args.camvid} (needs val/ and valannot/): skipping that dataset.")
        if not args.no_photos:
            datasets["skimage"] = run_dataset(progress, "skimage photos", photo_samples(), len(PHOTOS), False,
                                              args.formats)
    return datasets


def calibration(formats: list[str]) -> dict[str, dict[str, Any]]:
    """Each conditioned format's conditioning method, scale and block (sparsify only): what the
    calibration table reports the figures of."""
    found = {}
    for name in formats:
        codec = codecs.get(name)
        if isinstance(codec, ConditionedCodec):
            block = codec.conditioning_block if codec.conditioning_method == "sparsify" else None
            found[name] = {"method": codec.conditioning_method, "scale": codec.conditioning_scale, "block": block}
    return found


def settings(args: argparse.Namespace) -> dict[str, Any]:
    from segpress.codecs import avif, jxl_pixels, webp

    return {
        "formats": args.formats,
        "roi_qualities": ROI_QUALITIES,
        "bg_quality": f"min({DEFAULT_BG_QUALITY}, roi quality)",
        "conditioning": calibration(args.formats),
        "subsampling": SUBSAMPLING,
        "avif_speed": codecs.get("avif").speed if "avif" in codecs.available_names() else avif.DEFAULT_SPEED,
        "jxl_effort": jxl_pixels.DEFAULT_EFFORT,
        "webp_method": webp.METHOD,
        "uniform_references": {name: codecs.get(name).uniform_reference for name in args.formats},
        "defaults": {"roi_quality": DEFAULT_ROI_QUALITY, "bg_quality": DEFAULT_BG_QUALITY},
        "importance": IMPORTANCE_NOTE,
        "camvid": {"dir": str(args.camvid), "limit": args.limit, "classes": CAMVID_CLASSES,
                   "dilation_px": CAMVID_DILATION, "structuring_element": "disk"},
        "bd_rate": "segpress.metrics.bd_rate on (bytes, PSNR inside the region); average curve on mean bpp",
        "timing": f"time.perf_counter, best of {TIMING_REPEATS} per image, total time / total megapixels",
        "rate_control": {"every": RATE_EVERY, "size_factors": SIZE_FACTORS, "psnr_targets": PSNR_TARGETS,
                         "start": "the defaults"},
    }


def library_versions() -> dict[str, str]:
    """The encoders' own versions (libraries under Pillow and imagecodecs)."""
    return {"libwebp": features.version("webp"), "libavif": features.version("avif"),
            "openjpeg": features.version("jpg_2000"), "libjxl": imagecodecs.jpegxl_version()}


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    run = Run("pixel_codecs", argv, ("imagecodecs", "scikit-image"))
    datasets = run_datasets(args)
    report = run.write(args.out, settings(args), {"datasets": datasets}, markdown, library_versions(), digits=4)
    print_summary(report)
    print(f"\nwrote {args.out / 'pixel_codecs.json'} and {args.out / 'pixel_codecs.md'} in {report['seconds']:.0f} s")

if __name__ == "__main__":
    main(sys.argv[1:])
