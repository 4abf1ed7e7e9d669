"""The report's figures (matplotlib, PNG bytes): RD curves, task fidelity against bytes, crops of extremes.

    summary curves ─ rd_plot ─ plots/rd-<measure>.png
    task curves ─ task_plot ─ plots/task-miou.png (all formats); equal_bytes_plot ─ plots/task-equal-bytes.png
        (one panel per format: the model's mIoU on semantic and on uniform files against bpp)
    best / worst image ─ re-encoded in this process ─ crop_figure ─ crops/<image>.png (original | uniform | semantic)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from segpress import codecs
from segpress.codecs import Metadata
from segpress.imageio import load_image
from segpress.ratecontrol import decode_like

from .blocks import num
from .measure import load_truth, prepare
from .settings import BenchSettings

CROP_SIDE = 160  # pixels of the source image shown per crop


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


def equal_bytes_plot(task: dict[str, Any], key: str, title: str) -> bytes:
    """One panel per format: the model's mIoU (``key``) on the files compress writes (semantic, solid), on the
    region-adaptive files where the run kept them apart (dotted) and on uniform files (dashed), against bpp."""
    plt = _pyplot()
    formats = list(task["curves"])
    columns = min(3, len(formats))
    rows = -(-len(formats) // columns)
    figure, axes_grid = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows), squeeze=False)
    styles = (("uniform", "--", "o"), ("semantic", "-", "s"), ("adaptive", ":", "^"))
    for index, format in enumerate(formats):
        axes = axes_grid[index // columns][index % columns]
        for mode, style, marker in styles:
            points = [(p["bpp"], 100 * p[key]) for p in task["curves"][format].get(mode, [])
                      if p["bpp"] is not None and p.get(key) is not None]
            if points:
                xs, ys = zip(*points, strict=True)
                axes.plot(xs, ys, style, marker=marker, color=f"C{index}", markersize=4, label=mode)
        axes.set_title(format, fontsize=9)
        axes.set_xlabel("bits per pixel")
        axes.set_ylabel("mIoU (%)")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7)
    for extra in range(len(formats), rows * columns):
        axes_grid[extra // columns][extra % columns].set_axis_off()
    figure.suptitle(title, fontsize=10)
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
    the same size (semantic at the report quality: the file compress writes, the uniform one where the fallback
    fired; uniform at the quality with the nearest size), cropped."""
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
            written = point.get("written_quality") if point.get("fallback") else None
            if mode == "semantic" and written is None:
                data = codec.encode(loaded.pixels, chosen.values, encode, Metadata())
                qualities = f"{point['quality']}/{point['bg_quality']}"
            else:
                quality = point["quality"] if written is None else written
                data = codec.encode_uniform(loaded.pixels, quality, settings.encode_settings(quality, "uniform"),
                                            Metadata())
                qualities = f"q{quality}" + ("" if written is None else " (fallback)")
            decoded = decode_like(codec, data, loaded.pixels)
            axes[row][column].imshow(decoded[rows, cols], interpolation="nearest", **grey)
            axes[row][column].set_title(
                f"{format} {mode} {qualities}: {len(data) / 1000:.1f} kB, PSNR in {num(point['psnr_roi'])} dB",
                fontsize=8)
    for axis in axes.flat:
        axis.set_axis_off()
    figure.suptitle(title, fontsize=9)
    figure.tight_layout(rect=(0, 0, 1, 0.985))  # room for the title
    return _png(figure, dpi=72)  # about 1.3 screen pixels per image pixel: artefacts visible, files small


