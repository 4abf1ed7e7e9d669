"""``segpress segment``: label map and overlay PNGs from the segmentation model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from ..errors import OptionError, SegpressError
from ..imageio import DEFAULT_MAX_PIXELS, LABELS_SUFFIX, atomic_write, check_writable, load_image
from ..options import check_max_pixels
from . import console
from .console import InputFailed
from .shared import MaxPixelsOption, OverwriteOption, SegmenterOption, TextScaleOption, load_segmenter


def segment(
    inputs: Annotated[list[Path], typer.Argument(metavar="IMAGE...", help="Images to label.", show_default=False)],
    output: Annotated[str, typer.Option("--output", "-o", help="Folder, or NAME.png for one input: writes NAME-labels.png and NAME-overlay.png.")],
    segmenter: SegmenterOption = None,
    text: Annotated[bool, typer.Option("--text/--no-text", help="Also detect text: outlined in the overlay, its share listed.")] = False,
    text_scale: TextScaleOption = None,
    overwrite: OverwriteOption = False,
    max_pixels: MaxPixelsOption = DEFAULT_MAX_PIXELS,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per image instead of a table.")] = False,
) -> None:
    """Label images with the segmentation model: a label map PNG and a colour overlay with a legend.

    NAME-labels.png is a palette PNG of taxonomy class indices (255 = no class), usable as
    `compress --labels`; NAME-overlay.png is the photo with class colours and a legend below it.
    """
    from ..segmenters import render
    from ..text import detector_for as text_detector_for

    many = len(inputs) > 1
    check_max_pixels(max_pixels)
    folder = _segment_folder(output, many)
    model, model_files = load_segmenter(segmenter)
    detector = text_detector_for(text, text_scale)
    table = Table(title="segpress segment", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("labels", "classes (share of pixels)", "seconds"):
        table.add_column(column, overflow="fold", justify="right" if column == "seconds" else "left")
    failures = 0
    written: dict[Path, Path] = {}
    for source in inputs:
        try:
            targets = _segment_targets(source, output, folder, written, overwrite, [*inputs, *model_files])
            image = load_image(source, max_pixels=max_pixels)
            result = model.segment(image.pixels)
            shares = result.shares()
            found = None if detector is None else detector.detect(image.pixels)
            if found is not None:
                shares["text"] = found.share
            boxes = () if found is None else found.boxes
            pictures = (render.labels_png(result.labels), render.overlay_png(image.pixels, result.labels, shares, boxes))
            for target, data in zip(targets, pictures, strict=True):
                atomic_write(target, data, overwrite=overwrite, protect=[*inputs, *model_files])
                written[target.resolve()] = source
        except SegpressError as error:
            failures += 1
            console.stderr.print(f"error: {error}", markup=False)
            continue
        if as_json:
            console.stdout.print_json(json.dumps({
                "input": str(source), "labels": str(targets[0]), "overlay": str(targets[1]),
                "model": result.model, "width": result.width, "height": result.height,
                "seconds": result.seconds, "shares": shares,
                **({} if found is None else {"text": found.summary()}),
            }))
        else:
            top = ", ".join(f"{name} {100 * share:.0f}%" for name, share in list(shares.items())[:4] if share >= 0.005)
            if found is not None:
                top += f"; text {100 * found.share:.1f}% in {len(found.boxes)} boxes"
            table.add_row(escape(str(targets[0])), escape(top), f"{result.seconds:.2f}")
    if table.row_count and not as_json:
        console.stdout.print(table)
    if failures:
        raise InputFailed()


def _segment_targets(
    source: Path, output: str, folder: Path | None, written: dict[Path, Path], overwrite: bool, protect: list[Path]
) -> tuple[Path, Path]:
    """NAME-labels.png and NAME-overlay.png, both checked before either is written (never half a pair)."""
    stem, parent = (source.stem, folder) if folder is not None else (Path(output).stem, Path(output).parent)
    targets = (parent / f"{stem}{LABELS_SUFFIX}.png", parent / f"{stem}-overlay.png")
    for target in targets:
        if target.resolve() in written:
            raise OptionError(
                f"{target}: already written for {written[target.resolve()]} in this run; "
                "inputs with the same name need separate output folders"
            )
        check_writable(target, overwrite=overwrite, protect=protect)
    return targets


def _segment_folder(output: str, many: bool) -> Path | None:
    """The folder ``segment`` writes into, or None when ``-o`` is a NAME.png for a single input."""
    target = Path(output)
    if target.is_dir() or output.endswith(("/", "\\")) or not target.suffix:
        if target.exists() and not target.is_dir():
            raise OptionError(f"{output} is a file; -o must name a folder or NAME.png")
        return target
    if many:
        raise OptionError(f"{output}: with several inputs -o must name a folder")
    if target.suffix.lower() != ".png":
        raise OptionError(f"{output}: segment writes PNG files; give a folder or NAME.png")
    return None
