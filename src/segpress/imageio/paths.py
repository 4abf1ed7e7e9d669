"""File names: where an output goes (``output_path``), which files in a folder go with an image."""

from __future__ import annotations

import os
from pathlib import Path


def output_path(
    input_path: str | os.PathLike[str], output: str | os.PathLike[str], extension: str, *, many: bool
) -> Path:
    """Where the output for ``input_path`` goes, given ``-o output``; ``segpress.imageio`` says how."""
    out = Path(output)
    as_folder = many or out.is_dir() or os.fspath(output).endswith(("/", os.sep))
    if not as_folder:
        return out
    suffix = extension if extension.startswith(".") else f".{extension}"
    return out / f"{Path(input_path).stem}{suffix}"


LABELS_SUFFIX = "-labels"  # segpress segment writes NAME-labels.png (and NAME-overlay.png)


def companion_names(stem: str, kind: str) -> tuple[str, ...]:
    """The names a folder of masks or label maps may hold for the image ``stem`` (a name or relative
    path without extension), in the order they are looked for: ``stem.png``, and for label maps also
    ``stem-labels.png``, the name ``segpress segment`` writes, so its folder feeds ``--labels`` as it is."""
    names = (f"{stem}.png",)
    return (*names, f"{stem}{LABELS_SUFFIX}.png") if kind == "labels" else names
