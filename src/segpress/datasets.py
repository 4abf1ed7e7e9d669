"""Labelled segmentation datasets: readers into the segpress taxonomy, for evaluation and training.

Every reader returns a :class:`SegmentationDataset` whose label maps already hold taxonomy indices
(``segpress.taxonomy.CLASSES``, ``UNLABELLED`` = ignore), so datasets with different label sets mix freely::

    CamVid  train/ trainannot/ val/ valannot/     values 0..10, 11 = unlabelled ─┐
    MSRC-v2 images/ labels/  (split by file name)  values 0..22, 255 = void      ─┼─ remap_labels ─ taxonomy
    folder  images/ labels/ + class names [+ mapping file]  values 0..n-1, 255   ─┘

``segpress evaluate`` and ``segpress bench`` read user folders with these; ``segpress.train`` trains
on them. Everything is decoded once and kept in RAM (CamVid + MSRC are about 350 MB): with two CPU
cores, decoding PNGs every epoch would cost as much as a good part of a training step. numpy,
Pillow and PyYAML only: no torch.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from segpress.errors import InputError
from segpress.imageio import load_image, load_labels
from segpress.taxonomy import (
    CAMVID_CLASSES,
    CAMVID_IGNORE,
    CAMVID_TO_TAXONOMY,
    CLASSES,
    MSRC_CLASSES,
    MSRC_IGNORE,
    MSRC_TO_TAXONOMY,
    UNLABELLED,
    remap_labels,
)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
# Class names that mean "no class" in a class-name file (CamVid's "unlabelled", MSRC's "void"): ignored.
VOID_NAMES = frozenset({"void", "unlabelled", "unlabeled", "ignore", "ignored"})
# MSRC-v2 has no official split: this share of files (chosen by a hash of the name) is validation.
MSRC_VAL_PERCENT = 20


@dataclass(frozen=True)
class Sample:
    """One decoded pair: uint8 HxWx3 RGB pixels and uint8 HxW taxonomy labels (255 = ignore)."""

    name: str
    image: np.ndarray
    labels: np.ndarray


@dataclass(frozen=True)
class LabelSet:
    """How a dataset's label values read: class names in index order, ignore values, taxonomy mapping."""

    classes: tuple[str, ...]
    ignore: tuple[int, ...]
    mapping: Mapping[str, str]

    @property
    def unmapped(self) -> tuple[str, ...]:
        """Classes that are neither mapped to the taxonomy nor an ignore value: their pixels are ignored
        (not trained on, not scored), which a partial mapping does without saying."""
        return tuple(name for index, name in enumerate(self.classes)
                     if name not in self.mapping and index not in self.ignore)


CAMVID_LABELS = LabelSet(CAMVID_CLASSES, CAMVID_IGNORE, CAMVID_TO_TAXONOMY)
MSRC_LABELS = LabelSet(MSRC_CLASSES, MSRC_IGNORE, MSRC_TO_TAXONOMY)


class SegmentationDataset:
    """A named, preloaded list of samples; ``dataset[i]`` is a :class:`Sample`."""

    def __init__(self, name: str, samples: Sequence[Sample]) -> None:
        if not samples:
            raise InputError(f"{name}: no image/label pairs found")
        self.name = name
        self.samples = list(samples)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> Sample:
        return self.samples[index]

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.samples)

    def class_pixel_counts(self) -> np.ndarray:
        """Labelled pixels per taxonomy class (int64, one entry per class; ignore not counted)."""
        counts = np.zeros(len(CLASSES), dtype=np.int64)
        for sample in self.samples:
            counts += np.bincount(sample.labels.ravel(), minlength=256)[: len(CLASSES)]
        return counts


def concatenate(datasets: Sequence[SegmentationDataset]) -> SegmentationDataset:
    """One dataset holding the samples of all ``datasets``, in order."""
    return SegmentationDataset(
        "+".join(dataset.name for dataset in datasets),
        [sample for dataset in datasets for sample in dataset],
    )


# --- readers --------------------------------------------------------------------------------------


def read_camvid(root: str | Path, split: str) -> SegmentationDataset:
    """CamVid in the SegNet layout: ``root/<split>/X.png`` with labels in ``root/<split>annot/X.png``."""
    root = Path(root)
    if split not in ("train", "val", "test"):
        raise InputError(f"{root}: CamVid split must be train, val or test, not {split!r}")
    pairs = _pairs(root / split, root / f"{split}annot")
    return SegmentationDataset(f"camvid-{split}", [_load_pair(image, label, CAMVID_LABELS) for image, label in pairs])


def msrc_split(name: str) -> str:
    """"val" for about MSRC_VAL_PERCENT % of MSRC file names, "train" for the rest.

    The choice hashes the file stem (SHA-256), so it is the same on every machine and Python
    version, needs no list file, and does not move existing files when some are added or removed.
    Hashing single files rather than the 20 MSRC rows of the database keeps every category in both
    parts; MSRC photos of one row are distinct scenes, so no frame leaks across the split.
    """
    digest = hashlib.sha256(Path(name).stem.encode()).digest()
    return "val" if int.from_bytes(digest[:8], "big") % 100 < MSRC_VAL_PERCENT else "train"


def read_msrc(root: str | Path, split: str) -> SegmentationDataset:
    """MSRC-v2: ``root/images/X.png`` with labels ``root/labels/X.png``; split "train", "val" or "all"."""
    root = Path(root)
    if split not in ("train", "val", "all"):
        raise InputError(f"{root}: MSRC split must be train, val or all, not {split!r}")
    pairs = [
        (image, label) for image, label in _pairs(root / "images", root / "labels")
        if split == "all" or msrc_split(image.name) == split
    ]
    return SegmentationDataset(f"msrc-{split}", [_load_pair(image, label, MSRC_LABELS) for image, label in pairs])


def read_folder(
    images: str | Path, labels: str | Path, classes: str | Path, mapping: str | Path | None = None,
    *, name: str | None = None,
) -> SegmentationDataset:
    """A user's dataset: ``images/X.*`` with ``labels/X.png`` holding indices into the class-name file.

    ``classes`` is a text file with one class name per line (line n names label value n; 255 is
    unlabelled, and so is a class named void or unlabelled: ``VOID_NAMES``). ``mapping`` (YAML or TOML, a table ``their class -> taxonomy class``) says which
    taxonomy class each of theirs is; classes it leaves out are ignored in training. Without it,
    every class name must itself be a taxonomy class.
    """
    label_set = folder_label_set(classes, mapping)
    pairs = _pairs(Path(images), Path(labels))
    samples = [_load_pair(image, label, label_set) for image, label in pairs]
    return SegmentationDataset(name or Path(images).name, samples)


def folder_label_set(classes: str | Path, mapping: str | Path | None = None) -> LabelSet:
    """The label set of a user folder: a class-name file (value n = line n, 255 unlabelled) and an
    optional ``their class -> taxonomy class`` mapping file; without it the names must be taxonomy classes."""
    class_names = read_class_names(classes)
    table = read_mapping(mapping, class_names) if mapping is not None else None
    # A dataset's own "void" / "unlabelled" class is an ignore value, unless a mapping gives it a class.
    void = tuple(index for index, name in enumerate(class_names)
                 if name.lower() in VOID_NAMES and (table is None or name not in table))
    if table is None:
        table = _identity_mapping([name for index, name in enumerate(class_names) if index not in void], classes)
    return LabelSet(class_names, (*void, UNLABELLED), table)


def read_class_names(path: str | Path) -> tuple[str, ...]:
    """Class names, one per non-blank line; ``#`` starts a comment line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read the class-name file ({e})") from e
    names = tuple(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))
    if not names:
        raise InputError(f"{path}: the class-name file lists no classes")
    if len(set(names)) != len(names):
        raise InputError(f"{path}: class names must be unique")
    if len(names) > UNLABELLED:
        raise InputError(f"{path}: at most {UNLABELLED} classes fit an 8-bit label map with 255 as ignore")
    return names


def read_mapping(path: str | Path, class_names: Sequence[str]) -> dict[str, str]:
    """A ``their class -> taxonomy class`` table from a .toml, .yaml or .yml file, checked against both sides."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        table = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, yaml.YAMLError) as e:
        raise InputError(f"{path}: cannot read the class mapping ({' '.join(str(e).split())})") from e
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise InputError(f"{path}: the class mapping must be a table of class name = taxonomy class name")
    for source, target in table.items():
        if source not in class_names:
            raise InputError(f"{path}: {source!r} is not in the class-name file")
        if target not in CLASSES:
            raise InputError(f"{path}: {target!r} is not a taxonomy class ({', '.join(CLASSES)})")
    return dict(table)


def _identity_mapping(class_names: Sequence[str], classes_path: str | Path) -> dict[str, str]:
    unknown = [name for name in class_names if name not in CLASSES]
    if unknown:
        raise InputError(
            f"{classes_path}: {unknown[0]!r} is not a taxonomy class; give a mapping file "
            f"(their class -> one of {', '.join(CLASSES)})"
        )
    return {name: name for name in class_names}


def _pairs(image_dir: Path, label_dir: Path) -> list[tuple[Path, Path]]:
    """(image, label) paths, sorted by name; the label of ``X.jpg`` is ``X.png``."""
    for folder in (image_dir, label_dir):
        if not folder.is_dir():
            raise InputError(f"{folder}: no such folder")
    images = sorted(p for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    pairs = [(image, label_dir / f"{image.stem}.png") for image in images]
    for image, label in pairs:
        if not label.is_file():
            raise InputError(f"{label}: missing label file for {image}")
    return pairs


def _load_pair(image_path: Path, label_path: Path, label_set: LabelSet) -> Sample:
    pixels = load_image(image_path).pixels
    if pixels.ndim == 2:  # grey photos train as RGB with equal channels
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    return Sample(image_path.stem, pixels, load_label_map(label_path, pixels.shape[:2], label_set))


def load_label_map(label_path: str | Path, size: tuple[int, int], label_set: LabelSet) -> np.ndarray:
    """uint8 taxonomy labels (255 = ignore) of a label PNG holding ``label_set`` values; ``size`` is (height, width).

    InputError for a file of another size or a value that is neither a class nor an ignore value.
    """
    # classes=256 only lets load_labels check decoding and size; the values are checked below.
    raw = load_labels(label_path, size=size, classes=256)
    valid = np.isin(raw, np.array([*range(len(label_set.classes)), *label_set.ignore]))
    if not valid.all():
        raise InputError(
            f"{label_path}: label value {raw[~valid].flat[0]} is outside the {len(label_set.classes)} "
            f"classes (0..{len(label_set.classes) - 1}, ignore {', '.join(map(str, label_set.ignore))})"
        )
    return remap_labels(
        raw, label_set.classes, label_set.mapping, ignore_index=UNLABELLED, source_ignore=label_set.ignore,
    )


# The dataset formats a training config can name ("format" key); their keyword arguments are its keys.
READERS: dict[str, Callable[..., SegmentationDataset]] = {
    "camvid": read_camvid, "msrc": read_msrc, "folder": read_folder,
}
