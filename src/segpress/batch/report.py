"""What ``segpress batch`` shows: a Rich progress bar while it runs, a summary table when it ends."""

from __future__ import annotations

import time
from typing import Any, Self

from rich import box
from rich.console import Console
from rich.filesize import decimal
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from .runner import BatchSummary

_FAILURES_SHOWN = 10


class ProgressBar:
    """An :class:`~segpress.batch.Observer`: images done, images/s, bytes saved, failures, time left."""

    def __init__(self, console: Console) -> None:
        # At most 80 columns: no description, no elapsed time (the summary has it).
        self._progress = Progress(
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>5.1f} img/s"),
            TextColumn("{task.fields[saved]} under inputs"),
            TextColumn("{task.fields[failed]} failed"),
            TimeRemainingColumn(),
            console=console,
        )
        self._task: Any = None
        self._started = 0.0
        self._count = self._saved = self._failed = 0

    def __enter__(self) -> Self:
        return self  # the bar appears in start(): a run that fails before it leaves no empty bar behind

    def __exit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._progress.stop()

    def start(self, total: int) -> None:
        self._started = time.perf_counter()
        if not self._progress.console.is_terminal:
            return  # piped or redirected: the summary says it all, no bar frames in a log
        self._progress.start()
        self._task = self._progress.add_task("compressing", total=total, rate=0.0, saved=decimal(0), failed=0)

    def advance(self, record: dict[str, Any]) -> None:
        if self._task is None:
            return
        self._count += 1
        if record["status"] == "done":
            self._saved += record["bytes_in"] - record["bytes_out"]
        else:
            self._failed += 1
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        self._progress.update(self._task, advance=1, rate=self._count / elapsed, saved=_signed(self._saved),
                              failed=self._failed)


def summary_table(summary: BatchSummary) -> Table:
    table = Table(title="segpress batch", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_header=False)
    table.add_column("what")
    table.add_column("value", overflow="fold")
    state = "interrupted (Ctrl-C): run again to finish" if summary.interrupted else "finished"
    rows = [
        ("run", f"{state}, engine {summary.engine}"),
        ("inputs", f"{summary.found:,} found, {summary.skipped:,} done before (skipped)"
                   + (f", {summary.ignored:,} other files ignored" if summary.ignored else "")),
        ("this run", f"{summary.done:,} done, {summary.failed:,} failed"
                     + (f", {summary.not_attempted:,} left for the next run" if summary.not_attempted else "")),
        ("bytes", f"{decimal(summary.bytes_in)} in, {decimal(summary.bytes_out)} out: "
                  + _compared(summary.bytes_saved, "the input files")
                  + (f" ({_percent(summary.bytes_saved, summary.bytes_in)})" if summary.bytes_in else "")),
    ]
    if summary.compared:
        bound = "at least " if summary.uniform_lower_bound else ""
        saved = summary.bytes_uniform - summary.bytes_out_compared
        rows.append(("vs uniform", _compared(saved, "uniform encodes of the same format with the same PSNR inside")
                                   + f" ({bound}{_percent(saved, summary.bytes_uniform)} of "
                                   f"{decimal(summary.bytes_uniform)}, {summary.compared:,} images)"))
    rows.append(("speed", f"{summary.images_per_second:.2f} images/s over {summary.seconds:.1f} s"))
    if summary.worker_peak_rss:
        peak, count = decimal(max(summary.worker_peak_rss)), len(summary.worker_peak_rss)
        rows.append(("memory", f"peak {peak} per worker ({count} worker{'s' if count > 1 else ''})"))
    if summary.swept:
        rows.append(("cleaned", f"{summary.swept} temporary files of an interrupted run removed"))
    rows.append(("manifest", summary.manifest))
    for name, value in rows:
        table.add_row(name, escape(value))
    return table


def print_failures(summary: BatchSummary, console: Console) -> None:
    """One ``error:`` line per failed input (the first few), then where the rest are."""
    for name, error in summary.failures[:_FAILURES_SHOWN]:
        message = error if error.startswith(name) else f"{name}: {error}"
        console.print(f"error: {message}", markup=False, highlight=False)
    if summary.failed > _FAILURES_SHOWN:
        console.print(f"error: {summary.failed - _FAILURES_SHOWN} more failed inputs: see {summary.manifest}",
                      markup=False, highlight=False)


def _compared(saved: int, reference: str) -> str:
    """"3.5 MB smaller than <reference>", or larger."""
    return f"{decimal(abs(saved))} {'smaller' if saved >= 0 else 'larger'} than {reference}"


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %"


def _signed(count: int) -> str:
    return decimal(count) if count >= 0 else f"-{decimal(-count)}"
