"""Which images a run measures, with their label maps, and what could not be measured and why.

Arguments may be image files or folders (their images, not recursive, sorted by name). A bad
input never stops the run: each one becomes a :class:`Failure` with a one-line reason, listed in
the report, and the run goes on with the rest. Only a run left with no image at all is an error.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from segpress.errors import InputError

from .settings import Labels

# Suffixes taken from a folder; a file named on the command line is tried whatever its suffix.
IMAGE_SUFFIXES = (
    ".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".avif", ".gif", ".pnm", ".ppm", ".pgm",
    ".jp2", ".j2k", ".qoi",
)


@dataclass(frozen=True)
class ImageInput:
    """One image to measure: ``name`` is unique within the run (the file stem, numbered on a clash)."""

    path: Path
    name: str
    sha256: str
    labels: Path | None = None
    labels_sha256: str | None = None


@dataclass(frozen=True)
class Failure:
    """An input that was not measured: its path, the stage it failed at, and why (one line)."""

    path: str
    stage: str  # "input" (finding / reading the file), "labels" (its label map), "measure"
    error: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)


@dataclass
class Inputs:
    images: list[ImageInput]
    failures: list[Failure]


def collect_inputs(arguments: Iterable[Path], labels: Labels | None = None, limit: int | None = None) -> Inputs:
    """The images named by ``arguments`` (files and folders), paired with their label files when ``labels``.

    InputError when nothing is left to measure; every other problem is a Failure and the rest go on.
    """
    failures: list[Failure] = []
    files: list[Path] = []
    for argument in arguments:
        if argument.is_dir():
            found = sorted(p for p in argument.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                suffixes = ", ".join(IMAGE_SUFFIXES)
                failures.append(Failure(str(argument), "input", f"no images in this folder ({suffixes})"))
            files.extend(found)
        elif argument.is_file():
            files.append(argument)
        else:
            failures.append(Failure(str(argument), "input", "no such file or folder"))
    files = list(dict.fromkeys(files))[:limit]
    images: list[ImageInput] = []
    names: set[str] = set()
    for path in files:
        try:
            images.append(_image_input(path, labels, names))
        except _Unusable as reason:
            failures.append(reason.failure)
    if not images:
        reasons = "; ".join(f"{failure.path}: {failure.error}" for failure in failures) or "no arguments"
        raise InputError(f"no images to measure ({reasons})")
    return Inputs(images, failures)


class _Unusable(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.error)
        self.failure = failure


def _image_input(path: Path, labels: Labels | None, taken: set[str]) -> ImageInput:
    digest = _sha256(path, path, "input")
    if labels is None:
        return ImageInput(path, _unique(path.stem, taken), digest)
    label_path = labels.folder / f"{path.stem}.png"
    if not label_path.is_file():
        raise _Unusable(Failure(str(path), "labels", f"no label file {label_path.name} in {labels.folder}"))
    label_digest = _sha256(label_path, path, "labels")
    return ImageInput(path, _unique(path.stem, taken), digest, label_path, label_digest)


def _unique(stem: str, taken: set[str]) -> str:
    name, number = stem, 1
    while name in taken:
        number += 1
        name = f"{stem}-{number}"
    taken.add(name)
    return name


def _sha256(path: Path, image: Path, stage: str) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as error:
        raise _Unusable(Failure(str(image), stage, f"{path}: cannot read it ({error.strerror or error})")) from error
