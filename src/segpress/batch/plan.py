"""What a run has to do: the inputs found, minus those done before under the same settings.

An input counts as done, and is skipped, when its latest manifest record

- says ``"done"``,
- was made with this job's fingerprint (same options, same model: :mod:`segpress.batch.settings`),
- saw the same input (size and ETag or modification time; and the same mask or label map), and
- its output is still there, with the size recorded.

Anything else is (re)done: new inputs, changed ones, failed ones (a failure may have been passing,
like a network error), and those whose output went missing.

Outputs mirror the source's layout: ``SRC/a/b/photo.png`` becomes ``DST/a/b/photo.jpg`` (the
format's extension, as ``segpress compress`` names files). Two inputs that would write the same
output (``photo.png`` and ``photo.tif``) cannot both be done: the first in path order is, the others
fail with a message naming it.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from .manifest import Done, signature_key
from .storage import Entry, list_files, list_sources
from .work import Job, Task, failed


@dataclass
class Plan:
    tasks: list[Task]  # to do in this run
    found: int  # inputs found at the source
    skipped: int  # done before with the same settings
    ignored: int  # files in a source folder that are not images (by extension)
    conflicts: list[dict[str, Any]] = field(default_factory=list)  # failed records: outputs taken by another input


def make_plan(job: Job, done: dict[str, Done]) -> Plan:
    """Tasks for the inputs at ``job.source`` that the manifest (``done``: its read_done) does not show as done."""
    entries, ignored = list_sources(job.source)
    if not entries:
        raise InputError(f"{job.source.url}: no images found")
    outputs = list_files(job.destination)
    importance = list_files(job.importance) if job.importance is not None else {}
    extension = job.settings.extension
    plan = Plan(tasks=[], found=len(entries), skipped=0, ignored=ignored)
    claimed: dict[str, str] = {}  # output -> the input that writes it
    for entry in entries:
        stem = posixpath.splitext(entry.relative)[0]
        output, companion = stem + extension, importance.get(stem + ".png")  # its mask or label map
        task = Task(
            input=entry.relative,
            source=entry.path,
            output=job.destination.path(output),
            importance=None if companion is None else companion.path,
            signature=_signature(entry, companion, job.importance is not None),
        )
        if output in claimed:
            message = f"{entry.relative}: its output {output} is written for {claimed[output]}; rename one of them"
            plan.conflicts.append(failed(job, task, message))
            continue
        claimed[output] = entry.relative
        if _is_done(done.get(entry.relative), job.fingerprint, task.signature, outputs.get(output)):
            plan.skipped += 1
        else:
            plan.tasks.append(task)
    return plan


def _signature(entry: Entry, importance: Entry | None, uses_importance: bool) -> dict[str, Any]:
    signature: dict[str, Any] = {"size": entry.size, "version": entry.version}
    if uses_importance:
        signature["importance"] = None if importance is None else f"{importance.size}:{importance.version}"
    return signature


def _is_done(record: Done | None, fingerprint: str, signature: dict[str, Any], output: Entry | None) -> bool:
    return (
        record is not None
        and record.fingerprint == fingerprint
        and record.source == signature_key(signature)
        and output is not None
        and output.size == record.bytes_out
    )
