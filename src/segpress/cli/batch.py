"""``segpress batch``: a folder, glob or bucket compressed into another, resumable (``segpress.batch``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from .. import codecs
from . import console
from .shared import PolicyOption, SegmenterOption, TextOption, TextScaleOption
from .typer_options import COMPRESS_OPTIONS, OptionValues, with_compress_options


@with_compress_options({
    "format": {"help": f"{', '.join(codecs.names())} (`segpress formats`: those installed)."},
    "target_size": {"help": "Byte budget per file (40000, 40KB, 1.5MB, 40KiB)."},
    "target_roi_psnr": {"help": "PSNR (dB) inside the important region, at --bg-quality."},
})
def batch(
    source: Annotated[str, typer.Argument(metavar="SRC", help="Folder, glob or file: a local path or an fsspec URL (s3://bucket/photos).", show_default=False)],
    destination: Annotated[str, typer.Argument(metavar="DST", help="Folder (path or URL) that gets the outputs, in the source's layout.", show_default=False)],
    policy: PolicyOption = "default",
    workers: Annotated[Optional[int], typer.Option(help="Worker processes (local) or segmentation actors (ray); default: the CPUs available.")] = None,
    engine: Annotated[str, typer.Option(help="local (processes on this machine) or ray (a Ray Data pipeline; needs the ray extra).")] = "local",
    ray_address: Annotated[Optional[str], typer.Option(help="A running Ray cluster (host:port, ray://host:10001, auto); default: start a local one.")] = None,
    manifest: Annotated[Optional[Path], typer.Option(help="The JSONL manifest (local file); default DST/segpress-manifest.jsonl.")] = None,
    storage_option: Annotated[Optional[list[str]], typer.Option(metavar="KEY=VALUE", help="fsspec option KEY=VALUE for the URLs (endpoint_url=..., anon=true); repeatable.")] = None,
    mask: Annotated[Optional[str], typer.Option(help="Folder of importance masks mirroring the source: <relative path>.png per image.")] = None,
    labels: Annotated[Optional[str], typer.Option(help="Folder of label maps mirroring the source: <relative path>.png or <relative path>-labels.png (as segment writes) per image.")] = None,
    segmenter: SegmenterOption = None,
    text: TextOption = None,
    text_scale: TextScaleOption = None,
    options: OptionValues = COMPRESS_OPTIONS,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object instead of a table.")] = False,
) -> None:
    """Compress a whole folder, glob or bucket into DST, mirroring its layout; run it again to resume.

    Every input's outcome goes to a manifest (JSONL); a re-run skips what is done under the same
    settings. Bad inputs are recorded and skipped: exit code 1 when any failed, 130 after Ctrl-C.
    """
    from ..batch import job_settings, run_batch
    from ..batch.report import ProgressBar, print_failures, summary_table
    from ..batch.storage import parse_storage_options

    settings = job_settings(
        policy=policy, segmenter=segmenter, mask=mask, labels=labels, text=text, text_scale=text_scale, **options
    )
    with ProgressBar(console.stderr) as progress:
        summary = run_batch(
            source, destination, settings, engine=engine, workers=workers, manifest=manifest,
            storage_options=parse_storage_options(storage_option or []), ray_address=ray_address, observer=progress,
        )
    if as_json:
        console.stdout.print_json(json.dumps(summary.to_dict()))
    else:
        console.stdout.print(summary_table(summary))
    print_failures(summary, console.stderr)
    if summary.exit_code:
        raise typer.Exit(summary.exit_code)
