"""``segpress inspect`` (what a file segpress wrote holds) and ``segpress formats`` (what this installation has)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .. import codecs
from ..imageio import atomic_write
from . import console


def inspect(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A file written by segpress.")],
    map_png: Annotated[Optional[Path], typer.Option(help="Write the embedded importance map as a PNG.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing PNG.")] = False,
) -> None:
    """Show what a file holds: format, size, bpp, JPEG quality, and the importance map embedded by
    compress --keep-map (the qualities and classes it protected)."""
    from ..inspection import inspect_file

    report = inspect_file(file)
    table = Table(show_header=False, title=escape(str(file)), title_justify="left")
    for key, value in report.rows():
        table.add_row(escape(key), escape(value))
    console.stdout.print(table)
    if map_png is not None:
        if report.map is None:
            # What the file holds is shown above; the missing map is news, not a failure of the command.
            console.stderr.print(f"note: {file.name} holds no importance map (it was compressed without --keep-map): "
                                 f"{map_png} not written", markup=False, highlight=False)
            return
        atomic_write(map_png, report.map_png(), overwrite=overwrite, protect=[file])
        console.stdout.print(f"importance map written to {map_png}", markup=False, highlight=False)


def formats() -> None:
    """List the codecs and policies this installation has."""
    from .. import segmenters
    from ..policy import available_policies
    from ..text import describe as describe_text_detector

    names = codecs.available_names()
    width = max(map(len, names), default=0)
    for name in names:
        codec = codecs.get(name)
        console.stdout.print(f"{name:{width}}  {', '.join(codec.extensions):24} {codec.version()}",
                             markup=False, highlight=False, soft_wrap=True)
    console.stdout.print(f"policies: {', '.join(available_policies())}")
    console.stdout.print(f"segmenter: {segmenters.describe_shipped()}", markup=False, highlight=False)
    console.stdout.print(f"text detector: {describe_text_detector()}", markup=False, highlight=False)
