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

No output may land on an input or inside the source or the mask folder: the roots are checked apart
before (``storage.check_apart``), and locally every output's folder is resolved again here, since a
symlink inside the destination can still lead back into the source; such a run is refused whole.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError, OptionError
from ..imageio import companion_names
from .manifest import Done, signature_key
from .storage import Entry, Location, list_files, list_sources, resolved
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
        output, companion = stem + extension, _companion(importance, stem, job)  # its mask or label map
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
    _check_outputs_apart(job, plan.tasks, [entry.path for entry in entries], list(importance.values()))
    return plan


def _check_outputs_apart(job: Job, tasks: list[Task], inputs: list[str], companions: list[Entry]) -> None:
    """Refuse the run if an output, its folder resolved, is an input or lies inside a folder read from."""
    if not job.destination.is_local or not tasks:
        return  # an object store has no links: the roots checked apart keep outputs off the inputs
    read = [(job.source, path) for path in inputs]
    if job.importance is not None:
        read += [(job.importance, entry.path) for entry in companions]
    protected = {resolved(location, path): location.display(path) for location, path in read if location.is_local}
    folders = [resolved(location, location.root) + "/" for location in (job.source, job.importance)
               if location is not None and location.is_local]
    for task, output in zip(tasks, _resolved_outputs(job.destination, tasks), strict=True):
        reached = protected.get(output) or next((folder for folder in folders if output.startswith(folder)), None)
        if reached is not None:
            raise OptionError(
                f"{job.destination.display(task.output)} leads to {reached} (through a link), which this run reads;"
                " choose a destination outside the source"
            )


def _resolved_outputs(destination: Location, tasks: list[Task]) -> list[str]:
    """Each output's path with its folder resolved (once per folder); the file itself is replaced, not followed."""
    folders: dict[str, str] = {}
    outputs = []
    for task in tasks:
        folder, name = posixpath.split(task.output)
        if folder not in folders:
            folders[folder] = resolved(destination, folder)
        outputs.append(posixpath.join(folders[folder], name))
    return outputs


def _companion(files: dict[str, Entry], stem: str, job: Job) -> Entry | None:
    kind = "mask" if job.settings.mask is not None else "labels"
    return next((files[name] for name in companion_names(stem, kind) if name in files), None)


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
