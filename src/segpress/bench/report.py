"""The human side of a run: report.md and report.html (the same content), RD plots, crops of extremes.

    results ─ blocks (headings, paragraphs, tables, images, lists) ─┬─ Markdown
                                                                    └─ HTML (standalone, images beside it)
    summary curves ─ matplotlib ─ plots/rd-<measure>.png, plots/task-miou.png
    best / worst image ─ re-encoded in this process ─ crops/<image>.png (original | uniform | semantic)
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from segpress import codecs
from segpress.codecs import Metadata
from segpress.imageio import atomic_write, load_image
from segpress.ratecontrol import decode_like

from .measure import load_truth, prepare
from .settings import MODES, BenchSettings
from .summary import BD_METRICS, group

PLOTS = {  # measure -> axis label
    "psnr_roi": "PSNR of the important region (dB)",
    "ms_ssim_roi_db": "MS-SSIM of the important region (dB)",
    "psnr_background": "PSNR of the background (dB)",
    "psnr_whole": "PSNR of the whole image (dB)",
    "psnr_weighted": "importance-weighted PSNR (dB)",
}
CROP_SIDE = 160  # pixels of the source image shown per crop


# --- blocks and their two renderings ----------------------------------------------------------------


@dataclass
class Block:
    kind: str  # "h1", "h2", "p", "table", "image", "list"
    text: str = ""
    headers: Sequence[str] = ()
    rows: Sequence[Sequence[str]] = ()
    items: Sequence[str] = ()


def to_markdown(blocks: Sequence[Block]) -> str:
    lines: list[str] = []
    for block in blocks:
        if block.kind in ("h1", "h2", "h3"):
            lines += ["#" * int(block.kind[1]) + " " + block.text, ""]
        elif block.kind == "p":
            lines += [block.text, ""]
        elif block.kind == "table":
            cell = lambda text: str(text).replace("|", "\\|")  # noqa: E731
            lines.append("| " + " | ".join(cell(h) for h in block.headers) + " |")
            lines.append("|" + "|".join("---" for _ in block.headers) + "|")
            lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in block.rows]
            lines.append("")
        elif block.kind == "image":
            lines += [f"![{block.text}]({block.items[0]})", ""]
        elif block.kind == "list":
            lines += [f"- {item}" for item in block.items] + [""]
    return "\n".join(lines)


def to_html(blocks: Sequence[Block], title: str) -> str:
    out = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.4}"
        "table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:0.25em 0.6em;"
        "text-align:right}td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}"
        "img{max-width:100%}code{background:#f3f3f3;padding:0 0.2em}</style>", "</head><body>",
    ]
    for block in blocks:
        if block.kind in ("h1", "h2", "h3"):
            out.append(f"<{block.kind}>{html.escape(block.text)}</{block.kind}>")
        elif block.kind == "p":
            out.append(f"<p>{_inline_code(html.escape(block.text))}</p>")
        elif block.kind == "table":
            out.append("<table><thead><tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in block.headers)
                       + "</tr></thead><tbody>")
            out += ["<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in block.rows]
            out.append("</tbody></table>")
        elif block.kind == "image":
            out.append(f'<p><img src="{html.escape(block.items[0])}" alt="{html.escape(block.text)}"></p>')
        elif block.kind == "list":
            out.append("<ul>" + "".join(f"<li>{_inline_code(html.escape(i))}</li>" for i in block.items) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _inline_code(text: str) -> str:
    """`code` spans of the Markdown text as <code> (text already escaped)."""
    parts = text.split("`")
    return "".join(f"<code>{part}</code>" if i % 2 else part for i, part in enumerate(parts))


# --- number formats ---------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:+.1f} %"


def _num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


# --- plots ------------------------------------------------------------------------------------------


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display: straight to PNG
    from matplotlib import pyplot

    return pyplot


def _png(figure, dpi: int = 110) -> bytes:
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    _pyplot().close(figure)
    return buffer.getvalue()


def rd_plot(curves: dict[str, Any], measure: str, label: str, title: str) -> bytes:
    """Mean bpp against a mean measure: one colour per format, uniform dashed, semantic solid."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7, 4.6))
    for index, (format, modes) in enumerate(curves.items()):
        colour = f"C{index}"
        for mode, style, marker in (("uniform", "--", "o"), ("semantic", "-", "s")):
            points = [(p["bpp"], p[measure]) for p in modes[mode] if p["bpp"] is not None and p[measure] is not None]
            if points:
                xs, ys = zip(*points, strict=True)
                axes.plot(xs, ys, style, marker=marker, color=colour, markersize=4, label=f"{format} {mode}")
    axes.set_xlabel("bits per pixel (whole image)")
    axes.set_ylabel(label)
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    return _png(figure)


def task_plot(task: dict[str, Any], title: str) -> bytes:
    plt = _pyplot()
    panels = [("miou_original", "mIoU vs the model on the originals")]
    if task["ground_truth"]:
        panels.insert(0, ("miou_truth", "mIoU vs the ground truth"))
    figure, axes_list = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.2), squeeze=False)
    for axes, (key, label) in zip(axes_list[0], panels, strict=True):
        for index, (format, modes) in enumerate(task["curves"].items()):
            for mode, style, marker in (("uniform", "--", "o"), ("semantic", "-", "s")):
                xs = [p["bpp"] for p in modes[mode]]
                ys = [100 * p[key] for p in modes[mode]]
                axes.plot(xs, ys, style, marker=marker, color=f"C{index}", markersize=4, label=f"{format} {mode}")
        if key == "miou_truth" and task["original"] is not None:
            axes.axhline(100 * task["original"]["miou"], color="black", linewidth=0.8, label="originals")
        axes.set_xlabel("bits per pixel")
        axes.set_ylabel(f"{label} (%)")
        axes.grid(alpha=0.3)
    axes_list[0][0].legend(fontsize=7, ncol=2)
    figure.suptitle(title)
    figure.tight_layout()
    return _png(figure)


# --- crops ------------------------------------------------------------------------------------------


def _window(region: np.ndarray, side: int) -> tuple[slice, slice]:
    """The ``side``-pixel square holding the most important pixels (the image centre if none)."""
    height, width = region.shape
    side_y, side_x = min(side, height), min(side, width)
    if region.any():
        density = ndimage.uniform_filter(region.astype(np.float32), size=(side_y, side_x), mode="constant")
        cy, cx = np.unravel_index(int(np.argmax(density)), density.shape)
    else:
        cy, cx = height // 2, width // 2
    top = int(np.clip(cy - side_y // 2, 0, height - side_y))
    left = int(np.clip(cx - side_x // 2, 0, width - side_x))
    return slice(top, top + side_y), slice(left, left + side_x)


def crop_figure(records: dict[str, dict], settings: BenchSettings, title: str) -> bytes:
    """The original with its judged region, then per format the uniform and the semantic file of about
    the same size (semantic at the report quality, uniform at the quality with the nearest size), cropped."""
    first = next(iter(records.values()))
    loaded = load_image(first["image"]["path"], max_pixels=settings.max_pixels)
    labels = None if first["labels"] is None else Path(first["labels"]["path"])
    prepared = prepare(loaded, load_truth(labels, loaded, settings), settings, None)  # as the numbers were judged
    chosen, judge = prepared.chosen, prepared.judge
    rows, cols = _window(judge.region, CROP_SIDE)
    plt = _pyplot()
    figure, axes = plt.subplots(1 + len(records), 2, figsize=(6, 2.9 * (1 + len(records))), squeeze=False)
    grey = dict(cmap="gray", vmin=0, vmax=255) if loaded.pixels.ndim == 2 else {}
    axes[0][0].imshow(loaded.pixels, **grey)
    axes[0][0].contour(judge.region, levels=[0.5], colors="yellow", linewidths=0.8)
    axes[0][0].add_patch(plt.Rectangle((cols.start, rows.start), cols.stop - cols.start, rows.stop - rows.start,
                                       fill=False, edgecolor="red", linewidth=1.2))
    axes[0][0].set_title(f"{first['image']['name']}: region (yellow), crop (red)", fontsize=8)
    axes[0][1].imshow(loaded.pixels[rows, cols], interpolation="nearest", **grey)
    axes[0][1].set_title("original", fontsize=8)
    for row, (format, record) in enumerate(records.items(), start=1):
        codec = codecs.get(format)
        semantic = next(p for p in record["points"]["semantic"] if p["quality"] == settings.report_quality)
        uniform = min(record["points"]["uniform"], key=lambda p: abs(p["bytes"] - semantic["bytes"]))
        for column, (mode, point) in enumerate((("uniform", uniform), ("semantic", semantic))):
            encode = settings.encode_settings(point["quality"], mode)
            if mode == "semantic":
                data = codec.encode(loaded.pixels, chosen.values, encode, Metadata())
            else:
                data = codec.encode_uniform(loaded.pixels, point["quality"], encode, Metadata())
            decoded = decode_like(codec, data, loaded.pixels)
            qualities = f"q{point['quality']}" if mode == "uniform" else f"{point['quality']}/{point['bg_quality']}"
            axes[row][column].imshow(decoded[rows, cols], interpolation="nearest", **grey)
            axes[row][column].set_title(
                f"{format} {mode} {qualities}: {len(data) / 1000:.1f} kB, PSNR in {_num(point['psnr_roi'])} dB",
                fontsize=8)
    for axis in axes.flat:
        axis.set_axis_off()
    figure.suptitle(title, fontsize=9)
    figure.tight_layout(rect=(0, 0, 1, 0.985))  # room for the title
    return _png(figure, dpi=72)  # about 1.3 screen pixels per image pixel: artefacts visible, files small


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
        extremes = summary["extremes"]
        if extremes is not None and crops:
            by_image = group(records)
            for which in ("best", "worst"):
                for name in extremes[which]:
                    title = (f"{which} image for {extremes['format']}: BD-rate {_pct(extremes['bd_rate'][name])} "
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
    for measure, label in PLOTS.items():
        if measure in images:
            blocks.append(Block("image", label, items=[images[measure]]))
    blocks += _task_blocks(summary, described, images)
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
            "quality while the quality of what matters moves, as a user turning --roi-quality would.",
            f"Policy {policy['name']}: {weights} (default {policy['default']:g}).",
            f"Segmenter: {described['segmenter']['name']} (sha256 {described['segmenter']['sha256'][:12]}...), "
            "also run on every decoded image for task fidelity.",
            f"Encoder settings: {described['subsampling']} chroma, progressive where the format has it; "
            f"{described['metadata']}.",
        ]),
    ]


def _bd_blocks(summary: dict[str, Any], formats: Sequence[str], metric: str, words: str) -> list[Block]:
    table = summary["bd_rate"][metric]
    rows = [[f"{semantic} semantic", *(_pct(table[semantic][uniform]["average_curve"]) for uniform in formats)]
            for semantic in formats]
    own = [[f"{format}", _pct(table[format][format]["average_curve"]), _pct(table[format][format]["mean"]),
            _pct(table[format][format]["median"]), f"{table[format][format]['images']}"] for format in formats]
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
                f"{format} {mode}", _num(point["bpp"], 3),
                f"{_num(point['psnr_roi'])} / {_num(point['psnr_background'])} / {_num(point['psnr_whole'])}",
                f"{_num(point['ssim_roi'], 4)} / {_num(point['ssim_background'], 4)}",
                f"{_num(point['ms_ssim_roi'], 4)} / {_num(point['ms_ssim_background'], 4)} / "
                f"{_num(point['ms_ssim_whole'], 4)}",
                _num(point["psnr_weighted"]), _share(miou),
            ])
    which = "vs the ground truth" if task["ground_truth"] else "vs the model on the originals"
    return [
        Block("h2", f"At quality {quality}"),
        Block("p", f"Means over the images with a region (semantic: roi {quality}, background "
                   f"{min(described['bg_quality'], quality)}); mIoU {which}, over all images."),
        Block("table", headers=["", "bpp", "PSNR in / out / whole (dB)", "SSIM in / out",
                                "MS-SSIM in / out / whole", "weighted PSNR", "mIoU"], rows=rows),
    ]


def _task_blocks(summary: dict[str, Any], described: dict[str, Any], images: dict[str, str]) -> list[Block]:
    task = summary["task"]
    blocks = [Block("h2", "Task fidelity: the segmenter on decoded images")]
    if task["original"] is not None:
        blocks.append(Block("p", f"On the originals the model reaches mIoU {_share(task['original']['miou'])} "
                                 f"(pixel accuracy {_share(task['original']['pixel_accuracy'])}) against the ground "
                                 "truth. Below: bpp and mIoU per quality."))
    keys = [("miou_truth", "vs ground truth")] if task["ground_truth"] else []
    keys.append(("miou_original", "vs the model on the originals"))
    for key, words in keys:
        rows = [[f"{format} {mode}", *(f"{_num(p['bpp'], 3)} / {_share(p[key])}" for p in task["curves"][format][mode])]
                for format in described["formats"] for mode in MODES]
        blocks.append(Block("p", f"mIoU {words} (cells: bpp / mIoU):"))
        blocks.append(Block("table", headers=["", *(f"q{q}" for q in described["qualities"])], rows=rows))
    if "task" in images:
        blocks.append(Block("image", "mIoU against bpp", items=[images["task"]]))
    return blocks


def _timing_blocks(summary: dict[str, Any], described: dict[str, Any]) -> list[Block]:
    timing = summary["timing"]
    rows = [[f"{format} {mode}", _num(timing["codecs"][format][mode]["encode_ms_per_mp"], 1),
             _num(timing["codecs"][format][mode]["decode_ms_per_mp"], 1)]
            for format in described["formats"] for mode in MODES]
    return [
        Block("h2", "Time"),
        Block("p", f"Segmentation of an original: {_num(timing['segment_ms_per_image'], 1)} ms per image "
                   f"({_num(timing['segment_ms_per_mp'], 1)} ms/MP). Encode and decode in ms per megapixel over the "
                   "sweep (semantic encodes include the region-adaptive work). Workers share the CPU, so these are "
                   "times under load, not a benchmark of the codecs; records from the cache keep the times of "
                   "the run that measured them."),
        Block("table", headers=["", "encode ms/MP", "decode ms/MP"], rows=rows),
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
                   "PSNR in u/s", "PSNR out u/s"):
        table.add_column(column, justify="left" if column == "format" else "right")
    if summary is None:
        return table
    judge = "ground truth" if described["judge"] == "labels" else "the model"
    table.caption = (f"{summary['images']} images ({summary['images_with_region']} with a region, judged by {judge}); "
                     "BD-rate: semantic vs own uniform, average curve; u/s: uniform / semantic")
    table.caption_justify = "left"
    quality = described["report_quality"]
    bd = summary["bd_rate"]
    for format in described["formats"]:
        cells = [_pct(bd[metric][format][format]["average_curve"]) if bd else "n/a" for metric in BD_METRICS]
        uniform, semantic = (next(p for p in summary["curves"][format][mode] if p["quality"] == quality)
                             for mode in MODES)
        pairs = [f"{_num(uniform[key], digits)} / {_num(semantic[key], digits)}"
                 for key, digits in (("bpp", 3), ("psnr_roi", 2), ("psnr_background", 2))]
        table.add_row(format, *cells, *pairs)
    return table
