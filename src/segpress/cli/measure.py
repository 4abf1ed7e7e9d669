"""``segpress evaluate`` (the segmentation model against labels) and ``segpress bench`` (uniform and
semantic coding on your images)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table

from ..bench.settings import DEFAULT_FORMATS, DEFAULT_QUALITIES
from ..codecs.base import DEFAULT_BG_QUALITY
from ..errors import OptionError
from ..imageio import DEFAULT_MAX_PIXELS, atomic_write
from . import console
from .console import InputFailed
from .shared import MaxPixelsOption, PolicyOption, SegmenterOption, load_segmenter, need_extra, warn_unmapped


def evaluate(
    images: Annotated[Path, typer.Argument(metavar="IMAGES", help="Folder of images.", show_default=False)],
    labels: Annotated[Path, typer.Argument(metavar="LABELS", help="Folder of label PNGs, same stems as the images.", show_default=False)],
    classes: Annotated[Path, typer.Option(help="Class names, one per line: line n names label value n (255 = unlabelled).")],
    mapping: Annotated[Optional[Path], typer.Option(help="TOML/YAML table: your class -> taxonomy class (default: names are taxonomy classes).")] = None,
    segmenter: SegmenterOption = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Folder for metrics.json and confusion.png.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace existing output files.")] = False,
) -> None:
    """Score the segmentation model on labelled images: IoU per class, mIoU, pixel accuracy."""
    from rich.progress import Progress

    from ..datasets import folder_label_set, read_folder
    from ..evaluation import confusion_png, evaluate_segmenter

    if output is not None:
        need_extra("evaluate -o (confusion.png)", "bench", "matplotlib")
    model, _ = load_segmenter(segmenter)
    warn_unmapped(folder_label_set(classes, mapping), classes)
    dataset = read_folder(images, labels, classes, mapping)
    with Progress(console=console.stderr, transient=True, disable=not console.stderr.is_terminal) as progress:
        task = progress.add_task("evaluating", total=len(dataset))
        metrics = evaluate_segmenter(model, dataset, on_image=lambda: progress.advance(task))
    table = Table(title=f"segpress evaluate: {len(dataset)} images, {model.name}", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("class")
    table.add_column("IoU", justify="right")
    for name, iou in metrics["iou"].items():
        if iou is not None:
            table.add_row(name, f"{100 * iou:.1f}%")
    table.caption = f"mIoU {100 * metrics['miou']:.1f}%, pixel accuracy {100 * metrics['pixel_accuracy']:.1f}%"
    table.caption_justify = "left"
    console.stdout.print(table)
    if output is not None:
        report = {"images": len(dataset), "model": model.name, **metrics}
        atomic_write(output / "metrics.json", json.dumps(report, indent=1).encode(), overwrite=overwrite)
        title = f"{model.name} on {images.name}"
        png = confusion_png(metrics["confusion"], metrics["classes"], title)
        atomic_write(output / "confusion.png", png, overwrite=overwrite)
        console.stdout.print(f"wrote {output / 'metrics.json'} and {output / 'confusion.png'}", markup=False, highlight=False)


def bench(
    inputs: Annotated[list[Path], typer.Argument(metavar="PATH...", help="Images, or folders of images.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for results.json, report.md/.html, plots/, crops/.")],
    labels: Annotated[Optional[Path], typer.Option(help="Folder of ground-truth label PNGs (<image stem>.png): the important region is judged by them.")] = None,
    classes: Annotated[Optional[Path], typer.Option(help="Class names of the label values, one per line (255 = unlabelled); with --labels.")] = None,
    mapping: Annotated[Optional[Path], typer.Option(help="TOML/YAML table: label class -> taxonomy class (default: names are taxonomy classes).")] = None,
    formats: Annotated[str, typer.Option("--formats", help="Comma-separated formats.")] = ",".join(DEFAULT_FORMATS),
    qualities: Annotated[str, typer.Option(help="Comma-separated qualities of the sweep (roi quality in the semantic mode).")] = ",".join(map(str, DEFAULT_QUALITIES)),
    bg_quality: Annotated[int, typer.Option(help="Background quality of the semantic mode (min of it and the roi quality).")] = DEFAULT_BG_QUALITY,
    policy: PolicyOption = "default",
    segmenter: SegmenterOption = None,
    workers: Annotated[int, typer.Option(help="Worker processes (images in parallel).")] = 2,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N images (a quick check).")] = None,
    crops: Annotated[bool, typer.Option("--crops/--no-crops", help="Crops of the best and worst images in the report; --no-crops for data whose pixels you may not pass on.")] = True,
    cache: Annotated[Optional[Path], typer.Option(help="Folder of per-image records, reused by a re-run; default OUTPUT/cache.")] = None,
    max_pixels: MaxPixelsOption = DEFAULT_MAX_PIXELS,
    fallback: Annotated[bool, typer.Option("--fallback/--no-fallback", help="Semantic points are the files compress writes at defaults: the uniform file where the region-adaptive one is not smaller at the same PSNR inside (the report counts both); --no-fallback measures the region-adaptive files alone.")] = True,
) -> None:
    """Measure uniform and semantic coding on your images: RD curves, BD-rates, task fidelity, reports.

    Interrupted runs resume: every (image, format) measured is cached. Bad files are listed in the report and the run goes on; exit code 1 when any failed.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    need_extra("segpress bench", "bench", "skimage", "matplotlib")
    from ..bench import BenchSettings, Labels, run_bench
    from ..bench.report import console_table
    from ..bench.settings import parse_list, parse_qualities

    if (labels is None) != (classes is None):
        raise OptionError("--labels and --classes go together")
    if mapping is not None and labels is None:
        raise OptionError("--mapping needs --labels and --classes")
    settings = BenchSettings(
        formats=parse_list(formats, "--formats"), qualities=parse_qualities(qualities), bg_quality=bg_quality,
        policy=policy, segmenter=None if segmenter is None else str(segmenter), max_pixels=max_pixels,
        labels=None if labels is None else Labels.load(labels, classes, mapping), fallback=fallback,
    )
    if settings.labels is not None:
        warn_unmapped(settings.labels.label_set, classes)
    columns = (TextColumn("measuring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=console.stderr, transient=True, disable=not console.stderr.is_terminal) as progress:
            task = progress.add_task("images", total=None)
            outcome = run_bench(
                inputs, settings, output, cache_folder=cache, workers=workers, limit=limit, crops=crops,
                command=" ".join(["segpress", *sys.argv[1:]]) if sys.argv[1:2] == ["bench"] else None,
                on_start=lambda total: progress.update(task, total=total),
                on_image=lambda name: progress.advance(task),
            )
    except KeyboardInterrupt:
        console.stderr.print("the images measured so far are cached: the same command resumes the run", markup=False)
        raise
    console.stdout.print(console_table(outcome.results))
    console.stdout.print(f"{outcome.measured} records measured, {outcome.cached} from the cache; wrote "
                         f"{output / 'results.json'}, {output / 'report.md'}, {output / 'report.html'}", markup=False, highlight=False)
    for failure in outcome.failures:
        console.stderr.print(f"error: {failure.path}: {failure.error}", markup=False)
    if outcome.failures:
        raise InputFailed()
