"""What every measured result records about its run, and the one shape of the benchmark scripts' results.

``machine()`` and ``versions()`` describe where and with what a figure was measured; ``segpress bench``
(``results.json``, schema ``segpress.bench/2``) and the scripts under ``benchmarks/`` both use them. The
scripts' ``benchmarks/results/NAME.json`` follow schema ``segpress.benchmark/1`` (``SCHEMA``): the run's
description at the top level, the script's own figures under ``settings`` and ``results``. ``Run``
records a script's run from its start (time, machine, load) and writes the JSON and the Markdown table
beside it, each atomically.

Times in these files come from a shared machine: ``machine.load_average`` says how busy it was at the
start, and ratios measured within one run mean more than times compared across runs.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shlex
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import numpy as np

from segpress.imageio import atomic_write

SCHEMA_VERSION = "segpress.benchmark/1"

# The packages most figures depend on; a script adds the ones its measurement uses.
BASE_PACKAGES = ("segpress", "numpy", "pillow")

_STRING = {"type": ["string", "null"]}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_VERSION,
    "title": "segpress benchmark results (benchmarks/results/NAME.json)",
    "description": "One run of a script under benchmarks/. Fields recorded as null were not recorded by the run "
                   "(results written before this schema). New fields may appear under settings and results.",
    "type": "object",
    "required": ["schema", "benchmark", "created", "command", "seconds", "machine", "versions", "settings",
                 "results"],
    "additionalProperties": False,
    "properties": {
        "schema": {"const": SCHEMA_VERSION},
        "benchmark": {"type": "string", "pattern": "^[a-z0-9_]+$",
                      "description": "the script's name: benchmarks/NAME.py wrote NAME.json and NAME.md"},
        "created": {**_STRING, "description": "when the run started, ISO 8601, UTC"},
        "command": {**_STRING, "description": "the command line, from the repository root"},
        "seconds": {"type": ["number", "null"], "minimum": 0, "description": "the whole run, wall clock"},
        "machine": {
            "type": "object",
            "required": ["platform", "cpu_count", "python", "load_average"],
            "properties": {
                "platform": _STRING,
                "cpu_count": {"type": ["integer", "null"]},
                "python": _STRING,
                "load_average": {"type": ["array", "null"], "items": {"type": "number"}, "minItems": 1,
                                 "maxItems": 3,
                                 "description": "at the start: 1, 5 and 15 minutes (older runs: 1 minute only)"},
            },
        },
        "versions": {"type": "object", "additionalProperties": {"type": "string"},
                     "description": "package (or library) name to version"},
        "settings": {"type": "object", "description": "what was measured and how: the script's own fields"},
        "results": {"type": "object", "description": "the figures: the script's own fields"},
    },
}


def machine() -> dict[str, Any]:
    """The platform, CPU count, Python version and the load average now (the machine may be shared)."""
    try:
        load = [round(value, 2) for value in os.getloadavg()]
    except OSError:  # not available on every system
        load = None
    return {"platform": platform.platform(), "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "load_average": load}


def versions(packages: Iterable[str] = (), extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Installed versions of ``BASE_PACKAGES`` and ``packages`` (those not installed are left out), plus
    ``extra`` (library versions that are no Python package: libwebp, a codec's own version)."""
    found = {}
    for name in dict.fromkeys((*BASE_PACKAGES, *packages)):
        try:
            found[name] = package_version(name)
        except PackageNotFoundError:
            continue
    return {**found, **(extra or {})}


def clean(value: Any, digits: int = 6) -> Any:
    """Strict JSON: NaN and infinities become null (PSNR of an empty region, of identical pixels).

    Floats are rounded to ``digits`` decimals (6 keeps SSIM near 1 meaningful and the file readable);
    numpy scalars become Python numbers. The benchmark scripts use it for their JSON too.
    """
    if isinstance(value, dict):
        return {key: clean(item, digits) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [clean(item, digits) for item in value]
    if isinstance(value, float | np.floating):
        return round(float(value), digits) if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    return value


class Run:
    """One run of a benchmark script, from its start: ``Run("memory", argv)`` first, ``write`` at the end."""

    def __init__(self, name: str, argv: Sequence[str], packages: Iterable[str] = ()) -> None:
        self.name = name
        self.command = shlex.join([".venv/bin/python", f"benchmarks/{name}.py", *argv])
        self.created = datetime.now(UTC).isoformat(timespec="seconds")
        self.machine = machine()  # the load at the start: what the timings ran under
        self.packages = tuple(packages)
        self._started = time.perf_counter()

    def document(self, settings: Mapping[str, Any], results: Mapping[str, Any],
                 extra_versions: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The results document (schema ``SCHEMA``), the run's time counted up to now."""
        return {
            "schema": SCHEMA_VERSION, "benchmark": self.name, "created": self.created, "command": self.command,
            "seconds": time.perf_counter() - self._started, "machine": self.machine,
            "versions": versions(self.packages, extra_versions), "settings": dict(settings), "results": dict(results),
        }

    def write(self, folder: Path, settings: Mapping[str, Any], results: Mapping[str, Any],
              markdown: Callable[[dict[str, Any]], str], extra_versions: Mapping[str, str] | None = None,
              digits: int = 6) -> dict[str, Any]:
        """Write ``NAME.json`` and ``NAME.md`` (``markdown(document)``) into ``folder``; returns the document."""
        document = clean(self.document(settings, results, extra_versions), digits)
        write_results(folder, document, markdown(document))
        return document


def write_results(folder: Path, document: Mapping[str, Any], markdown: str) -> list[Path]:
    """``NAME.json`` (strict JSON: no NaN) and ``NAME.md`` side by side, each written atomically."""
    folder.mkdir(parents=True, exist_ok=True)
    targets = [folder / f"{document['benchmark']}.json", folder / f"{document['benchmark']}.md"]
    atomic_write(targets[0], (json.dumps(document, indent=1, allow_nan=False) + "\n").encode(), overwrite=True)
    atomic_write(targets[1], markdown.encode(), overwrite=True)
    return targets


def machine_line(document: Mapping[str, Any]) -> str:
    """``DATE on PLATFORM, N CPUs (load average L at the start)``: the line under every table's title."""
    m = document["machine"]
    when = document["created"] or "date not recorded"
    if m["platform"] is None:
        return f"{when}, machine not recorded"
    load = m["load_average"]
    busy = f" (load average {load[0]:.2f} at the start; a shared machine)" if load else ""
    return f"{when} on {m['platform']}, {m['cpu_count']} CPUs{busy}"
