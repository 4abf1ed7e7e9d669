"""The human side of a run: report.md and report.html (the same content), with the plots and crops.

    results ─ sections (report_blocks) ─ blocks.py ─┬─ report.md
                                                    └─ report.html
    summary ─ plots.py ─ plots/*.png; best / worst image ─ plots.crop_figure ─ crops/<image>.png

Sections: what was measured, BD-rates, the operating point, the fallback to uniform (what compress writes at
defaults), task fidelity (and at equal bytes), time, best and worst images, failures, method.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from segpress.imageio import atomic_write

from .blocks import Block, num, pct, points, share, to_html, to_markdown
from .plots import CROP_SIDE, crop_figure, equal_bytes_plot, rd_plot, task_plot
from .settings import MODES, BenchSettings
from .summary import BD_METRICS, group

MIOU_WORDS = {"miou_truth": "vs the ground truth", "miou_original": "vs the model on the originals"}
PLOTS = {  # measure -> axis label
    "psnr_roi": "PSNR of the important region (dB)",
    "ms_ssim_roi_db": "MS-SSIM of the important region (dB)",
    "psnr_background": "PSNR of the background (dB)",
    "psnr_whole": "PSNR of the whole image (dB)",
    "psnr_weighted": "importance-weighted PSNR (dB)",
}


# --- the report -------------------------------------------------------------------------------------


def write_reports(
    results: dict[str, Any], records: list[dict], settings: BenchSettings, output: Path, *, crops: bool = True
) -> list[Path]:
    """report.md, report.html, the plots and (unless ``crops`` is False) the crops; returns the files written."""
    written: list[Path] = []

    def write(relative: str, data: bytes) -> str:
        atomic_write(output / relative, data, overwrite=True)
        written.append(output / relative)
        return relative

    images: dict[str, str] = {}
    summary = results["summary"]
    if summary is not None:
        if summary["images_with_region"]:
            for measure, label in PLOTS.items():
                images[measure] = write(f"plots/rd-{measure}.png", rd_plot(summary["curves"], measure, label, label))
        images["task"] = write("plots/task-miou.png", task_plot(summary["task"], "segmentation on decoded images"))
        key = summary["equal_bytes"]["semantic"]["miou"]
        images["equal_bytes"] = write("plots/task-equal-bytes.png", equal_bytes_plot(
            summary["task"], key, f"the model's mIoU {MIOU_WORDS[key]}: semantic and uniform files against bpp"))
        extremes = summary["extremes"]
        if extremes is not None and crops:
            by_image = group(records)
            for which in ("best", "worst"):
                for name in extremes[which]:
                    title = (f"{which} image for {extremes['format']}: BD-rate {pct(extremes['bd_rate'][name])} "
                             "(PSNR inside, semantic vs uniform)")
                    images[f"{which}:{name}"] = write(f"crops/{name}.png", crop_figure(by_image[name], settings, title))
    blocks = report_blocks(results, settings, images)
    title = "segpress bench"
    write("report.md", to_markdown(blocks).encode())
    write("report.html", to_html(blocks, title).encode())
    for stale in (output / "crops").glob("*.png"):  # an earlier run's extremes: not in this report
        if stale not in written:
            stale.unlink()
    return written


def report_blocks(results: dict[str, Any], settings: BenchSettings, images: dict[str, str]) -> list[Block]:
    summary, run = results["summary"], results["run"]
    described = results["settings"]
    blocks = [
        Block("h1", "segpress bench"),
        Block("p", f"{results['created']} on {results['machine']['platform']}, {results['machine']['cpu_count']} CPUs, "
                   f"{run['workers']} worker(s); segpress {results['versions']['segpress']}; "
                   f"{run['measured_records']} records measured, {run['cached_records']} from the cache, "
                   f"{run['seconds']:.0f} s."),
    ]
    if run.get("command"):
        blocks.append(Block("p", f"Command: `{run['command']}`"))
    blocks += _settings_blocks(results, settings)
    if summary is None:
        blocks.append(Block("p", "No image could be measured; the failures are listed below."))
        return blocks + _failure_blocks(results)
    if summary["bd_rate"] is not None:
        for metric, words in BD_METRICS.items():
            blocks += _bd_blocks(summary, described["formats"], metric, words)
    blocks += _operating_point_blocks(summary, described)
    blocks += _fallback_blocks(summary, described)
    for measure, label in PLOTS.items():
        if measure in images:
            blocks.append(Block("image", label, items=[images[measure]]))
    blocks += _task_blocks(summary, described, images)
    blocks += _equal_bytes_blocks(summary, described, images)
    blocks += _timing_blocks(summary, described)
    crops = [(key, path) for key, path in images.items() if key.startswith(("best:", "worst:"))]
    if crops:
        blocks.append(Block("h2", "Best and worst images"))
        blocks.append(Block("p", f"By the per-image BD-rate (PSNR inside) of {summary['extremes']['format']}'s "
                                 "semantic mode against its uniform mode. Each row: the uniform file whose size is "
                                 f"nearest the semantic file at roi quality {settings.report_quality}, and that file; "
                                 f"{CROP_SIDE}-pixel crops where the region is densest, pixels shown as decoded."))
        for key, path in crops:
            blocks.append(Block("image", key.replace(":", " image: "), items=[path]))
    elif summary["extremes"] is not None:
        names = ", ".join(f"{which} {name}" for which in ("best", "worst") for name in summary["extremes"][which])
        blocks.append(Block("h2", "Best and worst images"))
        blocks.append(Block("p", f"By the per-image BD-rate (PSNR inside) of {summary['extremes']['format']}'s "
                                 f"semantic mode against its uniform mode: {names}. Crops left out (--no-crops)."))
    blocks += _failure_blocks(results)
    blocks += _method_blocks(settings)
    return blocks


def _settings_blocks(results: dict[str, Any], settings: BenchSettings) -> list[Block]:
    described, summary = results["settings"], results["summary"]
    if settings.labels is not None:
        labels = described["labels"]
        judge = (f"The important region is judged by the ground-truth labels ({labels['folder']}, classes "
                 f"{labels['classes_file']}" + (f", mapping {labels['mapping_file']}" if labels["mapping_file"] else "")
                 + ") through the policy: pixels whose class weighs >= 0.5. The semantic mode still codes with the "
                 "model's importance map, so segmentation mistakes cost what they cost.")
    else:
        judge = ("The important region is judged by the segmentation model (no labels given): the pixels whose "
                 "expected policy weight on the original is >= 0.5, before margins and feathering.")
    policy = described["policy"]
    weights = ", ".join(f"{name} {weight:g}" for name, weight in policy["weights"].items())
    images = summary["images"] if summary else 0
    with_region = summary["images_with_region"] if summary else 0
    return [
        Block("h2", "What was measured"),
        Block("list", items=[
            f"Images: {images} measured ({with_region} with an important region and a background: those make the "
            f"RD curves and BD-rates), {len(results['failures'])} failed (listed at the end).",
            judge,
            f"Formats: {', '.join(described['formats'])}; qualities {', '.join(map(str, described['qualities']))}.",
            f"Uniform mode: {described['uniform_sweep']}. Semantic mode: {described['semantic_sweep']}, coded with "
            "the model's importance map (policy margins and feathering): the background keeps segpress's default "
            "quality while the quality of what matters moves, as a user turning --roi-quality would. "
            + ("Each semantic point is the file compress writes at those qualities: the uniform file where the "
               "fallback fires (see below)." if described.get("fallback", True) else
               "--no-fallback: each semantic point is the region-adaptive file, even where a uniform file with the "
               "same PSNR inside is smaller."),
            f"Policy {policy['name']}: {weights} (default {policy['default']:g}).",
            f"Segmenter: {described['segmenter']['name']} (sha256 {described['segmenter']['sha256'][:12]}...), "
            "also run on every decoded image for task fidelity.",
            f"Encoder settings: {described['subsampling']} chroma, progressive where the format has it; "
            f"{described['metadata']}.",
        ]),
    ]


def _bd_blocks(summary: dict[str, Any], formats: Sequence[str], metric: str, words: str) -> list[Block]:
    table = summary["bd_rate"][metric]
    rows = [[f"{semantic} semantic", *(pct(table[semantic][uniform]["average_curve"]) for uniform in formats)]
            for semantic in formats]
    own = [[f"{format}", pct(table[format][format]["average_curve"]), pct(table[format][format]["mean"]),
            pct(table[format][format]["median"]), f"{table[format][format]['images']}"] for format in formats]
    return [
        Block("h2", f"BD-rate, {words}"),
        Block("p", "Each semantic mode against every uniform codec, on the dataset-average curves (mean bpp against "
                   "the mean measure, images with a region). Negative: fewer bits for the same quality inside."),
        Block("table", headers=["", *(f"vs uniform {f}" for f in formats)], rows=rows),
        Block("p", "Against its own uniform mode, per image:"),
        Block("table", headers=["format", "average curve", "mean over images", "median", "images"], rows=own),
    ]


def _operating_point_blocks(summary: dict[str, Any], described: dict[str, Any]) -> list[Block]:
    quality = described["report_quality"]
    task = summary["task"]
    rows = []
    for format in described["formats"]:
        for mode in MODES:
            point = next(p for p in summary["curves"][format][mode] if p["quality"] == quality)
            fidelity = next(p for p in task["curves"][format][mode] if p["quality"] == quality)
            miou = fidelity.get("miou_truth") if task["ground_truth"] else fidelity["miou_original"]
            rows.append([
                f"{format} {mode}", num(point["bpp"], 3),
                f"{num(point['psnr_roi'])} / {num(point['psnr_background'])} / {num(point['psnr_whole'])}",
                f"{num(point['ssim_roi'], 4)} / {num(point['ssim_background'], 4)}",
                f"{num(point['ms_ssim_roi'], 4)} / {num(point['ms_ssim_background'], 4)} / "
                f"{num(point['ms_ssim_whole'], 4)}",
                num(point["psnr_weighted"]), share(miou),
            ])
    which = "vs the ground truth" if task["ground_truth"] else "vs the model on the originals"
    return [
        Block("h2", f"At quality {quality}"),
        Block("p", f"Means over the images with a region (semantic: roi {quality}, background "
                   f"{min(described['bg_quality'], quality)}); mIoU {which}, over all images."),
        Block("table", headers=["", "bpp", "PSNR in / out / whole (dB)", "SSIM in / out",
                                "MS-SSIM in / out / whole", "weighted PSNR", "mIoU"], rows=rows),
    ]


def _fallback_blocks(summary: dict[str, Any], described: dict[str, Any]) -> list[Block]:
    """compress's fallback on the sweep: how often it fired, the saving with and without it, the ground rule's count."""
    fallback = summary.get("fallback")
    blocks = [Block("h2", "Never larger than uniform: the fallback")]
    if fallback is None:
        return blocks + [Block("p", "Measured with --no-fallback: the semantic points are the region-adaptive files "
                                    "as coded, even where the uniform encode with the same PSNR inside is smaller "
                                    "(compress --no-fallback). Run without it to see what compress writes at defaults.")]
    total = fallback["all"]
    blocks.append(Block("p", (
        "At defaults compress measures the PSNR of its file inside the model's important region, finds the uniform "
        "encode of the same format with that PSNR inside, and writes the uniform file when the region-adaptive one is "
        "not smaller (--no-fallback keeps it). The semantic points of this report are the files compress writes: "
        f"the fallback fired on {total['fired']} of {total['checked']} semantic files checked "
        f"({total['points'] - total['checked']} without an important region, left alone as compress leaves them). "
        f"Files larger than the uniform file with the same PSNR inside (the ground rule, measured as compress "
        f"measures it): {total['larger_than_uniform']}. Mean saving against that uniform encode: "
        f"{share(total['saving'])} as written, {share(total['saving_adaptive'])} for the region-adaptive files "
        "without the fallback.")))
    if total["above_interpolated"]:
        blocks.append(Block("p", f"{total['above_interpolated']} adaptive file(s) kept are above the uniform size "
                                 "interpolated between two whole qualities, yet smaller than every uniform file that "
                                 "reaches their PSNR inside: no uniform file a user could write is smaller."))
    judge = "ground-truth" if described["judge"] == "labels" else "model's"
    blocks.append(Block("p", (
        f"Judged by this run's region instead ({'the ground truth' if described['judge'] == 'labels' else 'the model'}"
        "'s, as every other figure here; the image's uniform sweep interpolated between its qualities at each "
        f"region-adaptive file's PSNR inside, where the sweep covers it): {total['judged_larger']} of "
        f"{total['judged']} region-adaptive files written are larger than uniform. compress checks its own region "
        "(the policy's map rule on the model's classes), which is not this one, so this count need not be 0.")))
    rows = []
    for format in described["formats"]:
        cells = fallback["formats"][format]
        by_quality = cells["by_quality"]
        rows.append([format, *(f"{by_quality[str(q)]['fired']}/{by_quality[str(q)]['checked']}"
                               for q in described["qualities"]),
                     share(cells["all"]["saving"]), share(cells["all"]["saving_adaptive"]),
                     f"{cells['all']['larger_than_uniform']}", f"{cells['all']['judged_larger']}/{cells['all']['judged']}"])
    blocks.append(Block("table", headers=["format", *(f"fired q{q}" for q in described["qualities"]),
                                          "saving as written", "saving without", "larger than uniform",
                                          f"larger, {judge} region"], rows=rows))
    adaptive = summary.get("bd_rate_adaptive")
    if not total["fired"]:
        blocks.append(Block("p", "The fallback never fired in this run: every figure is also the one without it."))
    elif adaptive is not None and summary["bd_rate"] is not None:
        rows = [[format, *(f"{pct(summary['bd_rate'][metric][format][format]['average_curve'])} / "
                           f"{pct(adaptive[metric][format][format]['average_curve'])}" for metric in BD_METRICS)]
                for format in described["formats"]]
        blocks.append(Block("p", "BD-rate against the format's own uniform mode (average curves), with the fallback "
                                 "(as written) / without it (the region-adaptive files):"))
        blocks.append(Block("table", headers=["format", *(f"{words}" for words in BD_METRICS.values())], rows=rows))
    return blocks


def _equal_bytes_blocks(summary: dict[str, Any], described: dict[str, Any], images: dict[str, str]) -> list[Block]:
    """The model's mIoU on semantic files against its mIoU on uniform files of the same size (interpolated)."""
    blocks = [Block("h2", "Task fidelity at equal bytes")]
    comparisons = summary["equal_bytes"]
    key = comparisons["semantic"]["miou"]
    blocks.append(Block("p", (
        f"The model's mIoU {MIOU_WORDS[key]} on each semantic point against its mIoU on uniform files of the same "
        "format at the same mean bpp (the uniform curve interpolated in log bpp; only points within the uniform "
        "curve's bpp range). Differences in percentage points; semantic >= uniform where every difference is >= 0.")))
    fallback = summary.get("fallback")
    rows = []
    for format in described["formats"]:
        for mode, comparison in comparisons.items():
            if mode == "adaptive" and not fallback["formats"][format]["all"]["fired"]:
                continue  # the same files as the semantic row
            cells = comparison["formats"][format]
            verdict = {True: "yes", False: "no", None: "n/a"}[cells["not_below"]]
            worse = sum(1 for point in cells["points"] if point["difference"] < 0)
            rows.append([f"{format} {mode}", f"{len(cells['points'])}", points(cells["mean_difference"]),
                         points(cells["min_difference"]), f"{verdict}" + (f" ({worse} below)" if worse else "")])
    blocks.append(Block("table", headers=["", "points compared", "mean difference", "smallest difference",
                                          "semantic >= uniform"], rows=rows))
    if "adaptive" in comparisons and fallback["all"]["fired"]:
        blocks.append(Block("p", "semantic: the files compress writes; adaptive: the region-adaptive files before "
                                 "the fallback (for the formats where it fired)."))
    if "equal_bytes" in images:
        blocks.append(Block("image", "mIoU against bpp, per format", items=[images["equal_bytes"]]))
    return blocks


def _task_blocks(summary: dict[str, Any], described: dict[str, Any], images: dict[str, str]) -> list[Block]:
    task = summary["task"]
    blocks = [Block("h2", "Task fidelity: the segmenter on decoded images")]
    if task["original"] is not None:
        blocks.append(Block("p", f"On the originals the model reaches mIoU {share(task['original']['miou'])} "
                                 f"(pixel accuracy {share(task['original']['pixel_accuracy'])}) against the ground "
                                 "truth. Below: bpp and mIoU per quality."))
    keys = [("miou_truth", "vs ground truth")] if task["ground_truth"] else []
    keys.append(("miou_original", "vs the model on the originals"))
    for key, words in keys:
        rows = [[f"{format} {mode}", *(f"{num(p['bpp'], 3)} / {share(p[key])}" for p in task["curves"][format][mode])]
                for format in described["formats"] for mode in MODES]
        blocks.append(Block("p", f"mIoU {words} (cells: bpp / mIoU):"))
        blocks.append(Block("table", headers=["", *(f"q{q}" for q in described["qualities"])], rows=rows))
    if "task" in images:
        blocks.append(Block("image", "mIoU against bpp", items=[images["task"]]))
    return blocks


def _timing_blocks(summary: dict[str, Any], described: dict[str, Any]) -> list[Block]:
    timing = summary["timing"]
    rows = [[f"{format} {mode}", num(timing["codecs"][format][mode]["encode_ms_per_mp"], 1),
             num(timing["codecs"][format][mode]["decode_ms_per_mp"], 1),
             num(timing["codecs"][format][mode].get("check_ms_per_mp"), 1)]
            for format in described["formats"] for mode in MODES]
    return [
        Block("h2", "Time"),
        Block("p", f"Segmentation of an original: {num(timing['segment_ms_per_image'], 1)} ms per image "
                   f"({num(timing['segment_ms_per_mp'], 1)} ms/MP). Encode and decode in ms per megapixel over the "
                   "sweep (semantic encodes include the region-adaptive work). Workers share the CPU, so these are "
                   "times under load, not a benchmark of the codecs; records from the cache keep the times of "
                   "the run that measured them."),
        Block("p", "Fallback check: compress's comparison with the uniform encode of the same PSNR inside (decode, PSNR, "
                   "the uniform encodes and decodes of the search); the uniform files the sweep had already encoded "
                   "are reused, so this is what the check adds here, less than in a compress call on its own."),
        Block("table", headers=["", "encode ms/MP", "decode ms/MP", "fallback check ms/MP"], rows=rows),
    ]


def _failure_blocks(results: dict[str, Any]) -> list[Block]:
    blocks = []
    if results["failures"]:
        blocks.append(Block("h2", "Not measured"))
        blocks.append(Block("list", items=[f"{f['path']} ({f['stage']}): {f['error']}" for f in results["failures"]]))
    if results["notes"]:
        blocks.append(Block("h2", "Notes"))
        blocks.append(Block("list", items=list(results["notes"])))
    return blocks


def _method_blocks(settings: BenchSettings) -> list[Block]:
    return [
        Block("h2", "How the numbers are computed"),
        Block("list", items=[
            "bpp: file bytes x 8 / pixels of the whole image. PSNR: 8-bit peak, mean squared error over all "
            "channels of the pixels in the region (segpress.metrics.psnr).",
            "SSIM: scikit-image structural_similarity, Gaussian window sigma 1.5 (11 taps), K1 0.01, K2 0.03, "
            "population covariance (Wang et al. 2004). Whole image: scikit-image's value (the 5-pixel border, "
            "where the window is cut, left out); over a region: the SSIM map averaged over all the region's pixels.",
            "MS-SSIM: Wang, Simoncelli & Bovik 2003, 5 scales of 2x2 averages, weights 0.0448, 0.2856, 0.3001, "
            "0.2363, 0.1333, contrast-structure at every scale and luminance at the coarsest, same window as SSIM; "
            "whole image without the 5-pixel border (as the reference implementations), a region with every "
            "pixel, each scale's map weighted by the region mask pooled to that scale. RGB: the mean of the "
            "channels. Images under 176 pixels a side use the scales that fit (Notes). BD-rates use "
            "-10 log10(1 - MS-SSIM).",
            "Weighted PSNR: the squared error of each pixel weighted by the judge's importance (the policy weight of "
            "its ground-truth class, or the model's expected weight) before averaging.",
            "BD-rate: Bjøntegaard (VCEG-M33), a cubic polynomial of log-rate against quality per curve, integrated "
            "over the quality range both curves cover (segpress.metrics.bd_rate; checked against the bjontegaard "
            "package in tests/test_bench.py). Rate: bpp.",
            "mIoU: the confusion matrices of all images summed, IoU averaged over the classes present in the "
            "reference (segpress.evaluation), the reference being the ground truth or the model's labels on the "
            "original image.",
            f"Results: results.json (schema {results_schema_name()}, described in results.schema.json); each "
            "measured (image, format) is cached so an interrupted run resumes where it stopped.",
        ]),
    ]


def results_schema_name() -> str:
    from .schema import SCHEMA_VERSION

    return SCHEMA_VERSION


def console_table(results: dict[str, Any]):
    """The summary for the terminal (a Rich table): per format, at the report quality and its own BD-rates."""
    from rich import box
    from rich.table import Table

    summary, described = results["summary"], results["settings"]
    table = Table(title="segpress bench", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("format", "BD-rate PSNR in", "BD-rate MS-SSIM in", f"bpp q{described['report_quality']} u/s",
                   "PSNR in u/s", "PSNR out u/s", "fallback", "larger"):
        table.add_column(column, justify="left" if column == "format" else "right")
    if summary is None:
        return table
    judge = "ground truth" if described["judge"] == "labels" else "the model"
    table.caption = (f"{summary['images']} images ({summary['images_with_region']} with a region, judged by {judge}); "
                     "BD-rate: semantic vs own uniform, average curve; u/s: uniform / semantic; fallback: uniform "
                     "files written / semantic files checked (all qualities); larger: files larger than the uniform "
                     "file with the same PSNR inside (as compress measures it)")
    table.caption_justify = "left"
    quality = described["report_quality"]
    bd = summary["bd_rate"]
    for format in described["formats"]:
        cells = [pct(bd[metric][format][format]["average_curve"]) if bd else "n/a" for metric in BD_METRICS]
        uniform, semantic = (next(p for p in summary["curves"][format][mode] if p["quality"] == quality)
                             for mode in MODES)
        pairs = [f"{num(uniform[key], digits)} / {num(semantic[key], digits)}"
                 for key, digits in (("bpp", 3), ("psnr_roi", 2), ("psnr_background", 2))]
        fallback = summary.get("fallback")
        tally = None if fallback is None else fallback["formats"][format]["all"]
        checks = ["not checked", "n/a"] if tally is None else [f"{tally['fired']}/{tally['checked']}",
                                                               f"{tally['larger_than_uniform']}"]
        table.add_row(format, *cells, *pairs, *checks)
    return table
