"""Batch compression of whole archives: a folder, glob or bucket in, the same layout out, resumable.

::

    segpress batch SRC DST [--format F] [--policy P] [--workers N] [--engine local|ray]

    storage   SRC / DST as fsspec locations (local paths, globs, s3://... URLs): listing, reading,
              all-or-nothing writes
    settings  JobSettings: the options of segpress.api.compress, checked once; their fingerprint
    plan      the inputs found, minus those the manifest shows done under the same fingerprint
    work      per input: read -> segment (a batch per model run) -> api.compress -> write -> record
    local     engine: worker processes, each holding the model (one thread each)
    ray_engine  engine: the same steps as a Ray Data pipeline (segpress[ray])
    manifest  JSONL, one durable line per finished input; torn last lines tolerated
    runner    run_batch: all of the above, and the BatchSummary
    report    the Rich progress bar and the summary table of the CLI

Compression itself is ``segpress.api.compress``; nothing here re-implements it.
"""

from .runner import (
    ENGINES,
    MANIFEST_NAME,
    BatchSummary,
    Observer,
    default_workers,
    run_batch,
)
from .settings import JobSettings, job_settings

__all__ = [
    "ENGINES", "MANIFEST_NAME", "BatchSummary", "JobSettings", "Observer", "default_workers", "job_settings",
    "run_batch",
]
