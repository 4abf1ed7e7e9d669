"""Benchmark for "region-adaptive JPEG and JPEG XL": rate, distortion and encode time against uniform JPEG.

For every image with an important region it measures, in one run:

1. a rate-distortion sweep, roi quality Q in ROI_QUALITIES with background quality min(25, Q), progressive
   4:2:0, of the region-adaptive JPEG on each core (jpegli, the default where installed, and
   libjpeg-turbo) and of uniform progressive JPEG from each encoder at the same Q; BD-rate on (bytes,
   PSNR inside the region) of every adaptive curve against every uniform one;
2. the defaults (roi 85, bg 25): PSNR inside / outside, bytes against uniform q85, and the lossless
   JPEG XL transcode against the baseline region-adaptive JPEG it was made from (with a round-trip check);
3. encode time per megapixel (best of TIMING_REPEATS) of plain Pillow, adaptive baseline and progressive
   on each core, and the JPEG XL transcode step alone.

Datasets: CamVid val (regions from its label maps) and five scikit-image photos (regions drawn below).
Writes benchmarks/results/jpeg_roi.json and jpeg_roi.md; see benchmarks/README.md.

Usage: .venv/bin/python benchmarks/jpeg_roi.py [--camvid DIR] [--limit N] [--out DIR]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
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

from segpress import codecs
from segpress.bench.record import Run, machine_line
from segpress.codecs import EncodeSettings, Metadata, jpegli
from segpress.codecs.base import DEFAULT_BG_QUALITY, DEFAULT_ROI_QUALITY
from segpress.codecs.jpeg import JPEGLI, TURBO, JpegCodec, adaptive_baseline, core_for, pillow_encode
from segpress.metrics import bits_per_pixel, psnr

ROI_QUALITIES = (50, 60, 70, 80, 90, 95)
SUBSAMPLING = "4:2:0"

# Region-adaptive and uniform JPEG by core: "" is segpress's default codec (jpegli where installed),
# "_turbo" the libjpeg-turbo core / encoder, so that both baselines and both cores sit in one run.
CORES = {"": None, "_turbo": TURBO}

# Targets: CamVid BD-rate and PSNR outside (half the bytes for the region's quality, the background still
# usable); JPEG XL saving and encode overhead everywhere.
BD_RATE_TARGET = -50.0  # percent, vs uniform JPEG from the default core (jpegli where installed)
PSNR_OUTSIDE_TARGET = 27.0  # dB, mean over images at the default bg quality
JXL_SAVING_TARGET = 15.0  # percent smaller than the baseline adaptive JPEG
OVERHEAD_TARGET = 40.0  # ms/MP over a plain Pillow encode



# --- regions ----------------------------------------------------------------------------------------


# --- measurements -----------------------------------------------------------------------------------


def quality_figures(data_bytes: bytes, sample: Sample, codec: codecs.Codec) -> dict[str, float]:
    decoded = codec.decode(data_bytes)
    height, width = sample.region.shape
    return {
        "bytes": len(data_bytes),
        "bpp": bits_per_pixel(len(data_bytes), height, width),
        "psnr_inside": psnr(sample.pixels, decoded, sample.region),
        "psnr_outside": psnr(sample.pixels, decoded, ~sample.region),
        "psnr": psnr(sample.pixels, decoded),
    }


def settings_for(roi_quality: int, progressive: bool) -> EncodeSettings:
    return EncodeSettings(roi_quality, min(DEFAULT_BG_QUALITY, roi_quality), progressive, SUBSAMPLING)


def jpeg_codec(suffix: str) -> JpegCodec:
    return codecs.get("jpeg") if CORES[suffix] is None else JpegCodec(CORES[suffix])


def sweep(sample: Sample, importance: np.ndarray) -> list[dict[str, Any]]:
    points = []
    for quality in ROI_QUALITIES:
        settings = settings_for(quality, progressive=True)
        point: dict[str, Any] = {"quality": quality}
        for suffix in CORES:
            jpeg = jpeg_codec(suffix)
            adaptive = jpeg.encode(sample.pixels, importance, settings, Metadata())
            uniform = jpeg.encode_uniform(sample.pixels, quality, settings, Metadata())
            point[f"adaptive{suffix}"] = quality_figures(adaptive, sample, jpeg)
            point[f"uniform{suffix}"] = quality_figures(uniform, sample, jpeg)
        points.append(point)
    return points


# BD-rate pairs (test curve, reference curve): the region-adaptive JPEG on each core against each uniform
# encoder, and uniform jpegli against uniform libjpeg-turbo (what a user gets without segmentation).
BD_PAIRS = {
    "adaptive_vs_uniform": ("adaptive", "uniform"),
    "adaptive_vs_uniform_turbo": ("adaptive", "uniform_turbo"),
    "adaptive_turbo_vs_uniform": ("adaptive_turbo", "uniform"),
    "adaptive_turbo_vs_uniform_turbo": ("adaptive_turbo", "uniform_turbo"),
    "uniform_vs_uniform_turbo": ("uniform", "uniform_turbo"),
}


def curve_bd_rate(points: list[dict[str, Any]], rate_key: str, pair: str = "adaptive_vs_uniform") -> float | None:
    test, reference = BD_PAIRS[pair]

    def column(side: str, key: str) -> list[float]:
        return [point[side][key] for point in points]

    return safe_bd_rate(
        column(reference, rate_key), column(reference, "psnr_inside"),
        column(test, rate_key), column(test, "psnr_inside"),
    )


def at_defaults(sample: Sample, importance: np.ndarray, baseline: bytes) -> dict[str, Any]:
    """Figures at roi 85 / bg 25; ``baseline`` is the baseline adaptive JPEG at those settings."""
    jxl = codecs.get("jxl")
    progressive = settings_for(DEFAULT_ROI_QUALITY, progressive=True)
    transcoded = jxl.encode(sample.pixels, importance, settings_for(DEFAULT_ROI_QUALITY, False), Metadata())
    figures = {}
    for suffix in CORES:
        jpeg = jpeg_codec(suffix)
        adaptive = jpeg.encode(sample.pixels, importance, progressive, Metadata())
        uniform = jpeg.encode_uniform(sample.pixels, DEFAULT_ROI_QUALITY, progressive, Metadata())
        figures[f"adaptive{suffix}"] = quality_figures(adaptive, sample, jpeg)
        figures[f"uniform{suffix}"] = quality_figures(uniform, sample, jpeg)
    return {
        **figures,
        "baseline_bytes": len(baseline),
        "jxl_bytes": len(transcoded),
        "jxl_saving_percent": 100.0 * (1.0 - len(transcoded) / len(baseline)),
        # The transcode is meant to be lossless: the exact baseline JPEG must come back out.
        "jxl_roundtrip_exact": imagecodecs.jpegxl_decode_jpeg(transcoded) == baseline,
    }


def timing(sample: Sample, importance: np.ndarray, baseline: bytes) -> dict[str, float]:
    """Encode seconds (best of TIMING_REPEATS) at the defaults; ``baseline`` feeds the JPEG XL step."""
    jpeg, turbo, jxl = codecs.get("jpeg"), JpegCodec(TURBO), codecs.get("jxl")
    baseline_settings = settings_for(DEFAULT_ROI_QUALITY, progressive=False)
    progressive = settings_for(DEFAULT_ROI_QUALITY, progressive=True)
    pixels = sample.pixels
    core = core_for(pixels, SUBSAMPLING)
    calls = {
        "pillow": lambda: pillow_encode(pixels, DEFAULT_ROI_QUALITY, SUBSAMPLING, optimize=True),
        "jpegli": lambda: jpegli.encode(pixels, DEFAULT_ROI_QUALITY) if jpegli.available() else math.nan,
        "adaptive_baseline": lambda: adaptive_baseline(pixels, importance, baseline_settings, core),
        "adaptive_progressive": lambda: jpeg.encode(pixels, importance, progressive, Metadata()),
        "adaptive_baseline_turbo": lambda: adaptive_baseline(pixels, importance, baseline_settings, TURBO),
        "adaptive_progressive_turbo": lambda: turbo.encode(pixels, importance, progressive, Metadata()),
        "jxl_transcode": lambda: jxl.transcode(baseline),
    }
    return best_times(calls)


def measure(sample: Sample) -> dict[str, Any]:
    importance = sample.region.astype(np.float32)
    points = sweep(sample, importance)
    core = core_for(sample.pixels, SUBSAMPLING)
    baseline = adaptive_baseline(sample.pixels, importance, settings_for(DEFAULT_ROI_QUALITY, progressive=False), core)
    height, width = sample.region.shape
    return {
        "name": sample.name,
        "width": width,
        "height": height,
        "region_fraction": float(sample.region.mean()),
        "sweep": points,
        "bd_rate_percent": curve_bd_rate(points, "bytes"),
        "bd_rate_percent_by_pair": {pair: curve_bd_rate(points, "bytes", pair) for pair in BD_PAIRS},
        "defaults": at_defaults(sample, importance, baseline),
        "encode_seconds": timing(sample, importance, baseline),
    }


# --- summary ----------------------------------------------------------------------------------------


def mean_of(records: list[dict[str, Any]], *path: str) -> float:
    return statistics.fmean(dig(record, path) for record in records)


def dig(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        record = record[key]
    return record


def average_curve(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean bpp and mean PSNR inside per quality over the images: the dataset's RD curves."""
    curve = []
    for index, quality in enumerate(ROI_QUALITIES):
        points = [record["sweep"][index] for record in records]
        curve.append({"quality": quality} | {
            side: {key: mean_of(points, side, key) for key in ("bpp", "psnr_inside", "psnr_outside")}
            for side in (f"{kind}{suffix}" for suffix in CORES for kind in ("adaptive", "uniform"))
        })
    return curve


def encode_speed(records: list[dict[str, Any]]) -> dict[str, float]:
    """ms per megapixel over the whole dataset (total best time / total pixels), overheads derived."""
    megapixels = sum(record["width"] * record["height"] for record in records) / 1e6
    speed = {
        name: 1000.0 * sum(record["encode_seconds"][name] for record in records) / megapixels
        for name in records[0]["encode_seconds"]
    }
    speed["overhead_adaptive_baseline"] = speed["adaptive_baseline"] - speed["pillow"]
    speed["overhead_ratio"] = speed["adaptive_baseline"] / speed["pillow"]
    speed["progressive_pass"] = speed["adaptive_progressive"] - speed["adaptive_baseline"]
    # The default JPEG path against the libjpeg-turbo core it replaces: what the switch costs in time.
    speed["core_ratio_progressive"] = speed["adaptive_progressive"] / speed["adaptive_progressive_turbo"]
    speed["core_ratio_baseline"] = speed["adaptive_baseline"] / speed["adaptive_baseline_turbo"]
    return speed


def pair_summary(records: list[dict[str, Any]], curve: list[dict[str, Any]], pair: str) -> dict[str, Any]:
    values = [record["bd_rate_percent_by_pair"][pair] for record in records]
    defined = [value for value in values if value is not None]
    return {
        "average_curve": curve_bd_rate(curve, "bpp", pair),
        "mean": statistics.fmean(defined) if defined else None,
        "median": statistics.median(defined) if defined else None,
        "undefined_images": len(values) - len(defined),
    }


def summarise(records: list[dict[str, Any]], skipped: int, seconds: float, primary: bool) -> dict[str, Any]:
    """Figures of one dataset; the BD-rate and PSNR-outside targets are set for CamVid (``primary``) only."""
    per_image = [record["bd_rate_percent"] for record in records if record["bd_rate_percent"] is not None]
    curve = average_curve(records)
    outside = [record["defaults"]["adaptive"]["psnr_outside"] for record in records]
    defaults = {
        "psnr_outside_mean": mean_of(records, "defaults", "adaptive", "psnr_outside"),
        "psnr_outside_min": min(outside),
        "psnr_outside_below_target": sum(value < PSNR_OUTSIDE_TARGET for value in outside),
        "psnr_inside_mean": mean_of(records, "defaults", "adaptive", "psnr_inside"),
        "uniform_psnr_inside_mean": mean_of(records, "defaults", "uniform", "psnr_inside"),
        "psnr_mean": mean_of(records, "defaults", "adaptive", "psnr"),
        "uniform_psnr_mean": mean_of(records, "defaults", "uniform", "psnr"),
        "bytes_mean": mean_of(records, "defaults", "adaptive", "bytes"),
        "uniform_bytes_mean": mean_of(records, "defaults", "uniform", "bytes"),
        "turbo_bytes_mean": mean_of(records, "defaults", "adaptive_turbo", "bytes"),
        "turbo_psnr_outside_mean": mean_of(records, "defaults", "adaptive_turbo", "psnr_outside"),
        "uniform_turbo_bytes_mean": mean_of(records, "defaults", "uniform_turbo", "bytes"),
        "uniform_turbo_psnr_inside_mean": mean_of(records, "defaults", "uniform_turbo", "psnr_inside"),
        "baseline_bytes_mean": mean_of(records, "defaults", "baseline_bytes"),
        "jxl_bytes_mean": mean_of(records, "defaults", "jxl_bytes"),
        "jxl_saving_percent_mean": mean_of(records, "defaults", "jxl_saving_percent"),
        "jxl_roundtrip_exact": sum(record["defaults"]["jxl_roundtrip_exact"] for record in records),
    }
    defaults["saving_percent"] = 100.0 * (1.0 - defaults["bytes_mean"] / defaults["uniform_bytes_mean"])
    bd = {
        "mean": statistics.fmean(per_image) if per_image else None,
        "median": statistics.median(per_image) if per_image else None,
        "average_curve": curve_bd_rate(curve, "bpp"),
        "undefined_images": len(records) - len(per_image),
        "by_pair": {pair: pair_summary(records, curve, pair) for pair in BD_PAIRS},
    }
    speed = encode_speed(records)
    targets = {
        "jxl_saving_percent_mean": target(defaults["jxl_saving_percent_mean"], JXL_SAVING_TARGET, False, "%"),
        "overhead_ms_per_mp": target(speed["overhead_adaptive_baseline"], OVERHEAD_TARGET, True, "ms/MP"),
    }
    if primary:
        for key in ("average_curve", "mean", "median"):
            targets[f"bd_rate_{key}"] = target(bd[key], BD_RATE_TARGET, True, "%")
        targets["psnr_outside_mean"] = target(defaults["psnr_outside_mean"], PSNR_OUTSIDE_TARGET, False, "dB")
    return {
        "images": len(records),
        "skipped_empty_region": skipped,
        "region_fraction_mean": mean_of(records, "region_fraction"),
        "bd_rate_percent": bd,
        "average_curve": curve,
        "defaults": defaults,
        "encode_ms_per_mp": speed,
        "core": JPEGLI if jpegli.available() else TURBO,
        "targets": targets,
        "run_seconds": seconds,
    }


# --- report -----------------------------------------------------------------------------------------


def status(summary: dict[str, Any], key: str) -> tuple[str, str]:
    """(target text, met/missed) for a row, blank where no target is set for this dataset."""
    found = summary["targets"].get(key)
    if found is None:
        return "", ""
    return found["text"], "met" if found["met"] else "**missed**"


def table_rows(summary: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(figure, value, target key) per row."""
    bd, d, s = summary["bd_rate_percent"], summary["defaults"], summary["encode_ms_per_mp"]
    pairs = bd["by_pair"]
    n = summary["images"]
    core = summary.get("core", JPEGLI)

    def both(pair: str) -> str:
        return f"{pct(pairs[pair]['average_curve'])} (mean {pct(pairs[pair]['mean'])})"

    return [
        ("Images (skipped: no important pixel)", f"{n} ({summary['skipped_empty_region']})", ""),
        ("Important region, mean share of pixels", f"{100 * summary['region_fraction_mean']:.1f} %", ""),
        (f"BD-rate vs uniform {core}, PSNR inside, dataset-average curve", pct(bd["average_curve"]),
         "bd_rate_average_curve"),
        (f"BD-rate vs uniform {core}, PSNR inside, mean over images", pct(bd["mean"]), "bd_rate_mean"),
        (f"BD-rate vs uniform {core}, PSNR inside, median over images", pct(bd["median"]), "bd_rate_median"),
        ("BD-rate vs uniform libjpeg-turbo, PSNR inside, average curve (mean over images)",
         both("adaptive_vs_uniform_turbo"), ""),
        (f"libjpeg-turbo core: BD-rate vs uniform {core}, average curve (mean)", both("adaptive_turbo_vs_uniform"), ""),
        ("libjpeg-turbo core: BD-rate vs uniform libjpeg-turbo, average curve (mean)",
         both("adaptive_turbo_vs_uniform_turbo"), ""),
        (f"Uniform {core} vs uniform libjpeg-turbo, BD-rate, average curve (mean)", both("uniform_vs_uniform_turbo"), ""),
        ("Defaults: PSNR outside region, mean", f"{d['psnr_outside_mean']:.2f} dB", "psnr_outside_mean"),
        ("Defaults: PSNR outside region, min", f"{d['psnr_outside_min']:.2f} dB", ""),
        (f"Defaults: images with PSNR outside below {PSNR_OUTSIDE_TARGET:g} dB",
         f"{d['psnr_outside_below_target']} / {n}", ""),
        ("Defaults: PSNR inside region, mean (adaptive / uniform q85)",
         f"{d['psnr_inside_mean']:.2f} / {d['uniform_psnr_inside_mean']:.2f} dB", ""),
        ("Defaults: whole-image PSNR, mean (adaptive / uniform q85)",
         f"{d['psnr_mean']:.2f} / {d['uniform_psnr_mean']:.2f} dB", ""),
        ("Defaults: mean bytes, adaptive progressive / uniform q85 progressive",
         f"{d['bytes_mean']:,.0f} / {d['uniform_bytes_mean']:,.0f} ({d['saving_percent']:.1f} % smaller)", ""),
        ("Defaults, libjpeg-turbo core: mean bytes, PSNR outside",
         f"{d['turbo_bytes_mean']:,.0f} B, {d['turbo_psnr_outside_mean']:.2f} dB", ""),
        ("Defaults: uniform libjpeg-turbo q85 progressive: mean bytes, PSNR inside",
         f"{d['uniform_turbo_bytes_mean']:,.0f} B, {d['uniform_turbo_psnr_inside_mean']:.2f} dB", ""),
        ("JPEG XL transcode vs baseline adaptive JPEG, mean saving",
         f"{d['jxl_saving_percent_mean']:.1f} % ({d['jxl_bytes_mean']:,.0f} / {d['baseline_bytes_mean']:,.0f} B)",
         "jxl_saving_percent_mean"),
        ("JPEG XL transcode: exact JPEG back out", f"{d['jxl_roundtrip_exact']} / {n}", ""),
        ("Encode: plain Pillow q85 (optimised Huffman)", f"{s['pillow']:.1f} ms/MP", ""),
        (f"Encode: plain {core} q85 (its own Huffman tables)", f"{s['jpegli']:.1f} ms/MP", ""),
        (f"Encode: region-adaptive baseline ({core} core)", f"{s['adaptive_baseline']:.1f} ms/MP", ""),
        (f"Encode: region-adaptive progressive ({core} core)", f"{s['adaptive_progressive']:.1f} ms/MP", ""),
        ("Encode: region-adaptive baseline / progressive, libjpeg-turbo core",
         f"{s['adaptive_baseline_turbo']:.1f} / {s['adaptive_progressive_turbo']:.1f} ms/MP", ""),
        (f"Encode time, {core} core / libjpeg-turbo core: progressive (baseline)",
         f"{s['core_ratio_progressive']:.2f}x ({s['core_ratio_baseline']:.2f}x)", ""),
        ("Encode: JPEG XL transcode step alone", f"{s['jxl_transcode']:.1f} ms/MP", ""),
        ("Overhead of adaptive baseline over Pillow",
         f"{s['overhead_adaptive_baseline']:.1f} ms/MP ({s['overhead_ratio']:.2f}x)", "overhead_ms_per_mp"),
        ("Extra cost of the progressive pass", f"{s['progressive_pass']:.1f} ms/MP", ""),
    ]


def markdown(report: dict[str, Any]) -> str:
    v = report["versions"]
    lines = [
        "# jpeg_roi: region-adaptive JPEG and JPEG XL",
        "",
        (
            f"{machine_line(report)}; "
            f"segpress {v['segpress']}, Pillow {v['pillow']}, libjpeg-turbo {v['libjpeg-turbo']}, "
            f"mozjpeg-lossless-optimization {v['mozjpeg-lossless-optimization']}, {v['libjxl']}."
        ),
        (
            f"Sweep: roi quality {', '.join(map(str, ROI_QUALITIES))} with bg quality "
            f"min({DEFAULT_BG_QUALITY}, roi), progressive {SUBSAMPLING}, on the default core "
            f"({v['jpegli']}) and on libjpeg-turbo, against uniform progressive JPEG from each encoder "
            f"at the same qualities. Defaults: roi {DEFAULT_ROI_QUALITY}, bg {DEFAULT_BG_QUALITY}. "
            f"Encode times: best of {TIMING_REPEATS}."
        ),
        f"Importance: {IMPORTANCE_NOTE}.",
    ]
    for name, dataset in report["results"]["datasets"].items():
        summary = dataset["summary"]
        lines += ["", f"## {name}", "", "| Figure | Value | Target | Status |", "|---|---|---|---|"]
        for figure, value, key in table_rows(summary):
            text, verdict = status(summary, key) if key else ("", "")
            lines.append(f"| {figure} | {value} | {text} | {verdict} |")
        lines.append(f"\nRun time: {summary['run_seconds']:.0f} s.")
    lines += ["", f"Reproduce: `{report['command']}`", ""]
    return "\n".join(lines)


def print_summary(report: dict[str, Any]) -> None:
    for name, dataset in report["results"]["datasets"].items():
        summary = dataset["summary"]
        print(f"\n{name}")
        for figure, value, key in table_rows(summary):
            text, verdict = status(summary, key) if key else ("", "")
            note = f"  [target {text}: {verdict.strip('*')}]" if text else ""
            print(f"  {figure}: {value}{note}")


# --- main -------------------------------------------------------------------------------------------


def run_dataset(
    progress: Progress, label: str, samples: Iterator[Sample | None], total: int, primary: bool
) -> dict[str, Any]:
    records, skipped, seconds = collect(progress, label, samples, total, lambda _, sample: measure(sample))
    return {"images": len(records), "summary": summarise(records, skipped, seconds, primary), "per_image": records}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camvid", type=Path, default=DEFAULT_CAMVID,
                        help="CamVid folder with val/ and valannot/ (default: ../shared/data/camvid from the repo)")
    parser.add_argument("--limit", type=int, help="only the first N CamVid val images, for a quick check")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results folder (default: benchmarks/results)")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    return args


def run_datasets(camvid: Path, limit: int | None) -> dict[str, Any]:
    """CamVid val when it is there (a clear message when not), then the skimage photos."""
    datasets = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        val, annot = camvid / "val", camvid / "valannot"
        if val.is_dir() and annot.is_dir():
            files = sorted(val.glob("*.png"))[:limit]
            datasets["camvid_val"] = run_dataset(
                progress, "CamVid val", camvid_samples(files, annot), len(files), primary=True
            )
        else:
            print(f"CamVid not found at {camvid} (needs val/ and valannot/): skipping that dataset.")
        datasets["skimage"] = run_dataset(progress, "skimage photos", photo_samples(), len(PHOTOS), primary=False)
    return datasets


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    run = Run("jpeg_roi", argv, PACKAGES)
    datasets = run_datasets(args.camvid, args.limit)
    report = run.write(args.out, settings(args), {"datasets": datasets}, markdown, library_versions(), digits=4)
    print_summary(report)
    print(f"\nwrote {args.out / 'jpeg_roi.json'} and {args.out / 'jpeg_roi.md'} in {report['seconds']:.0f} s")


PACKAGES = ("jpeglib", "mozjpeg-lossless-optimization", "imagecodecs", "scikit-image")


def library_versions() -> dict[str, str]:
    """The encoders' own versions (libraries under the Python packages)."""
    return {"libjpeg-turbo": features.version("libjpeg_turbo"), "jpegli": jpegli.version(),
            "libjxl": imagecodecs.jpegxl_version()}


def settings(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "roi_qualities": ROI_QUALITIES,
        "bg_quality": f"min({DEFAULT_BG_QUALITY}, roi quality)",
        "progressive": True,
        "subsampling": SUBSAMPLING,
        "uniform_reference": codecs.get("jpeg").uniform_reference,
        "defaults": {"roi_quality": DEFAULT_ROI_QUALITY, "bg_quality": DEFAULT_BG_QUALITY},
        "importance": IMPORTANCE_NOTE,
        "camvid": {"dir": str(args.camvid), "limit": args.limit, "classes": CAMVID_CLASSES,
                   "dilation_px": CAMVID_DILATION, "structuring_element": "disk"},
        "bd_rate": "segpress.metrics.bd_rate on (bytes, PSNR inside the region); average curve on mean bpp",
        "timing": f"time.perf_counter, best of {TIMING_REPEATS} per image, total time / total megapixels",
    }

if __name__ == "__main__":
    main(sys.argv[1:])
