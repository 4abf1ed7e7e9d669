"""What ``segpress compress`` prints: one row per file as it finishes, in columns that fit the terminal.

Rows are printed as each file is done (a long run is never silent), so the columns cannot be sized by
Rich's Table from all the rows at the end: each column has a width fixed up front, the output column
takes the rest. When the line is too narrow for the output names, secondary columns are dropped (the
caption says which; ``--json`` has every figure), and a name longer than its column loses its middle
(``build/…/astronaut.jpg``), never its file name, and never folds onto the next line.

A column is a :class:`Column`: a header, the widest value it expects, how to read its value from a
result, and when it is dropped. A new figure is one more entry in :func:`compress_columns`.
"""

from __future__ import annotations

import math
import os
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:  # the API (and SciPy with it) loads when a command runs, not for --help
    from ..api import CompressResult

GAP = "  "
ELLIPSIS = "…"
MIN_NAME = 24  # the output column is kept at least this wide (or the longest name) by dropping others


@dataclass(frozen=True)
class Column:
    """One figure of the table. ``drop``: 0 is always shown; otherwise the highest is dropped first."""

    header: str
    width: int  # the widest value expected; a wider one shifts its row, it is never cut
    value: Callable[[CompressResult], str]
    drop: int = 0


def compress_columns(rate_control: bool) -> list[Column]:
    """The figures of a compress row; with a target also the qualities rate control chose."""
    columns = [
        Column("bytes", 9, lambda r: f"{r.size:,}"),
        Column("bpp", 5, lambda r: f"{r.bpp:.3f}", drop=6),
        Column("PSNR in", 7, lambda r: _db(r.psnr_inside), drop=2),
        Column("PSNR out", 8, lambda r: _db(r.psnr_outside), drop=4),
        Column("ROI", 4, lambda r: f"{100 * r.important_fraction:.0f}%", drop=5),
        Column("uniform *", 10, _uniform, drop=3),
        Column("saving", 7, _saving),
    ]
    if rate_control:
        columns.insert(0, Column("roi/bg", 9, lambda r: f"{r.roi_quality:.1f}/{r.bg_quality:.1f}", drop=1))
    return columns


def caption(columns: Sequence[Column]) -> str:
    """What the shown columns mean."""
    headers = {column.header for column in columns}
    parts = []
    if {"PSNR in", "PSNR out"} <= headers:
        parts.append("PSNR in dB inside / outside the important region (ROI)")
    elif "PSNR in" in headers:
        parts.append("PSNR in: dB inside the important region")
    if "uniform *" in headers:
        parts.append("* a uniform encode with the same PSNR in")
    if "saving" in headers:
        parts.append("saving: against that uniform encode")
    if "roi/bg" in headers:
        parts.append("roi/bg: the qualities rate control chose")
    return "; ".join(parts)


def _db(value: float) -> str:
    return "-" if math.isnan(value) else ("inf" if math.isinf(value) else f"{value:.2f}")


def _uniform(result: CompressResult) -> str:
    if result.uniform_size is None:
        return "-"
    return f"{'' if result.uniform_reached else '>'}{result.uniform_size:,.0f}"


def _saving(result: CompressResult) -> str:
    if result.saving is None:
        return "-"
    if result.fallback:
        return "uniform"  # the uniform file was written: a note under the table says why
    # Even quality 100 did not reach the same PSNR: the uniform size, and so the saving, is a lower bound.
    return f"{'' if result.uniform_reached else '>'}{100 * result.saving:.1f}%"


def baseline_notes(result: CompressResult) -> list[str]:
    """The saving against the format's other uniform encoders (JPEG: libjpeg-turbo beside jpegli)."""
    lines = []
    for name, other in result.baselines.items():
        bound = "" if other["reached"] else ">"  # as in the saving column: a lower bound
        lines.append(f"saving against uniform {name} (same PSNR in, {bound}{other['size']:,.0f} bytes): "
                     f"{bound}{100 * other['saving']:.1f}%")
    return lines


def display_path(path: Path | str) -> str:
    """The path as the user reads it best: relative to the working folder when inside it."""
    text = os.fspath(path)
    try:
        relative = os.path.relpath(Path(text).resolve(), Path.cwd())
    except ValueError:  # another drive (Windows)
        return text
    return text if relative.startswith("..") or len(relative) >= len(text) else relative


def shorten(name: str, width: int) -> str:
    """``name`` in at most ``width`` characters: whole folders in the middle give way to "…" first
    (``build/…/astronaut.jpg``), then the file name loses its middle (its extension stays)."""
    if len(name) <= width:
        return name
    sep = "/" if "/" in name else os.sep
    *folders, base = name.split(sep)
    fitting = [
        sep.join([*folders[:head], ELLIPSIS, *(folders[len(folders) - tail:] if tail else ()), base])
        for head in range(len(folders)) for tail in range(len(folders) - head)
    ]
    fitting = [candidate for candidate in fitting if len(candidate) <= width]
    if fitting:
        return max(fitting, key=len)
    stem, dot, extension = name.rpartition(".")
    keep = f"{dot}{extension}" if dot and len(extension) < 6 and sep not in extension else ""
    room = max(width - 1 - len(keep), 1)
    body = name[: len(name) - len(keep)]
    return f"{body[: (room + 1) // 2]}{ELLIPSIS}{body[len(body) - room // 2:] if room // 2 else ''}{keep}"


class ResultTable:
    """Prints a header, then a row per finished file, then the caption and notes, on ``console``."""

    def __init__(self, console: Console, title: str, columns: Sequence[Column], names: Sequence[str]) -> None:
        self.console = console
        self.title = title
        width = console.width
        longest = max(map(len, names), default=len("output"))
        wanted = max(len("output"), min(longest, MIN_NAME))
        shown = list(columns)
        while self._name_width(shown, width) < wanted and any(column.drop for column in shown):
            shown.remove(max(shown, key=lambda column: column.drop))
        self.columns = shown
        self.hidden = [column.header for column in columns if column not in shown]
        self.name_width = max(len("output"), min(longest, self._name_width(shown, width)))
        self.rows = 0

    @staticmethod
    def _name_width(columns: Sequence[Column], width: int) -> int:
        return width - sum(len(GAP) + max(column.width, len(column.header)) for column in columns)

    def _line(self, name: str, values: Sequence[str]) -> str:
        cells = [name.ljust(self.name_width)]
        cells += [value.rjust(max(column.width, len(column.header))) for column, value in zip(self.columns, values, strict=True)]
        return GAP.join(cells).rstrip()

    def _print(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def add(self, target: Path | str, result: CompressResult) -> None:
        """One finished file's row (the header before the first)."""
        if not self.rows:
            self._print(self.title)
            self._print(self._line("output", [column.header for column in self.columns]))
            self._print("─" * min(self.console.width, len(self._line("output", [c.header for c in self.columns]))))
        self.rows += 1
        self._print(self._line(shorten(display_path(target), self.name_width), [c.value(result) for c in self.columns]))

    def finish(self, notes: Sequence[str] = ()) -> None:
        """The caption under the rows (if any), what was left out, then the notes."""
        if self.rows:
            text = caption(self.columns)
            if self.hidden:
                text += f"; not shown at {self.console.width} columns: {', '.join(self.hidden)} (--json has every figure)"
            for line in textwrap.wrap(text, max(self.console.width, 40), break_on_hyphens=False):
                self._print(line)
        for note in notes:  # wrapped like the caption, continuation lines indented
            for line in textwrap.wrap(note, max(self.console.width, 40), break_on_hyphens=False,
                                      subsequent_indent="  ") or [""]:
                self._print(line)


def what_ran(result: CompressResult) -> str:
    """--verbose: what ran for one file, in the order it ran."""
    steps = []
    if result.segment_seconds is not None:
        steps.append(f"segmented ({result.source.removeprefix('model:')}) in {result.segment_seconds:.2f} s")
    else:
        steps.append(f"importance from {result.source}")
    if result.text_seconds is not None:
        steps.append(f"text detected in {result.text_seconds:.2f} s")
    qualities = f"roi {result.roi_quality:g} / background {result.bg_quality:g}"
    if result.rate_encodes is not None:
        unit = "B" if result.target_kind == "size" else "dB inside"
        steps.append(f"{result.rate_encodes} {result.format} encodes to reach {result.target:g} {unit}, "
                     f"chose {qualities}, in {result.encode_seconds:.2f} s")
    else:
        steps.append(f"1 {result.format} encode at {qualities} in {result.encode_seconds:.2f} s")
    if result.uniform_size is not None:
        reached = "" if result.uniform_reached else " (quality 100 did not reach it)"
        steps.append(f"compared with {result.uniform_reference} at quality {result.uniform_quality:g}: "
                     f"{result.uniform_size:,.0f} B{reached}")
    else:
        steps.append("no uniform comparison")
    return "; ".join(steps)


class CompressProgress:
    """A Rich progress bar on ``console`` (stderr) while files are compressed; nothing when it is not a
    terminal (piped, redirected) or not ``shown`` (--quiet, --json)."""

    def __init__(self, console: Console, total: int, shown: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._bar = None
        if shown and console.is_terminal:
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=True)
            self._task = self._bar.add_task("compressing", total=total)

    def __enter__(self) -> CompressProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def now(self, source: Path) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=escape(shorten(source.name, 30)))

    def advance(self) -> None:
        if self._bar is not None:
            self._bar.advance(self._task)
