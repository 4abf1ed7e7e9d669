"""What a plain ``pip install segpress`` costs: installed size and start-up time.

Size: the files of every distribution a base install pulls in (the ``[project] dependencies`` of a
pyproject.toml and theirs, no extras), as installed in this environment, summed from each
distribution's RECORD. Start-up: the median wall time of ``segpress --version`` and
``segpress compress --help`` (the CLI in a fresh interpreter, ``-c "from segpress.cli import run; run()"``,
PYTHONPATH=SRC when given), over --runs runs.

Usage:
    python scripts/install_footprint.py                                 # this checkout
    git show main:pyproject.toml > /tmp/old.toml
    python scripts/install_footprint.py --pyproject /tmp/old.toml --src /path/to/old/src   # another one
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def closure(requirements: list[str]) -> dict[str, metadata.Distribution]:
    """Every installed distribution the requirements pull in, without extras."""
    found: dict[str, metadata.Distribution] = {}
    pending = [Requirement(text) for text in requirements]
    while pending:
        requirement = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        if name in found:
            continue
        try:
            distribution = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            print(f"note: {requirement.name} is not installed here; not counted", file=sys.stderr)
            continue
        found[name] = distribution
        pending += [Requirement(text) for text in distribution.requires or ()]
    return found


def installed_bytes(distribution: metadata.Distribution) -> int:
    total = 0
    for file in distribution.files or ():
        path = Path(file.locate())
        if path.is_file():
            total += path.stat().st_size
    return total


def startup_seconds(argv: list[str], src: Path | None, runs: int) -> float:
    env = dict(os.environ, **({"PYTHONPATH": str(src)} if src else {}))
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "from segpress.cli import run; run()", *argv], env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pyproject", type=Path, default=ROOT / "pyproject.toml")
    parser.add_argument("--src", type=Path, default=ROOT / "src")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    requirements = tomllib.loads(args.pyproject.read_text())["project"]["dependencies"]
    distributions = closure(requirements)
    sizes = {name: installed_bytes(distribution) for name, distribution in distributions.items()}
    print(f"base install: {len(sizes)} distributions, {sum(sizes.values()) / 1e6:.0f} MB installed")
    for name, size in sorted(sizes.items(), key=lambda item: -item[1])[:8]:
        print(f"  {name:28} {size / 1e6:7.1f} MB")
    for argv in (["--version"], ["compress", "--help"]):
        seconds = startup_seconds(argv, args.src, args.runs)
        print(f"segpress {' '.join(argv)}: {seconds:.2f} s (median of {args.runs})")


if __name__ == "__main__":
    main()
