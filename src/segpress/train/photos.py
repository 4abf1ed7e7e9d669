"""Unlabelled photos taught by the teachers: listing, the held-out split, the teach pass, the dataset.

    python -m segpress.train teach CONFIG       # once: teacher targets for every photo, cached
    python -m segpress.train train CONFIG       # a [[train_data]] of format "photos" reads them

A config's ``[teach]`` table names the teachers' folder, the photo folders and the cache::

    [teach]
    teachers = "../shared/teachers"
    photos = ["../shared/photos"]      # folders, searched recursively for images
    cache = "build/teach"
    workers = 2                        # processes (each teacher runs on one thread)
    temperature = 2.0                  # and the other TeachSettings fields

A tenth of the photos (by a hash of the file name; frames of one video together) is held out:
training never sees it, and ``segpress evaluate`` / ``benchmarks/segmenter.py`` score the student
against the combined teacher there.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from segpress.errors import InputError, OptionError
from segpress.imageio import atomic_write, load_image
from segpress.taxonomy import CLASSES, UNLABELLED
from segpress.train.teachers import (
    Teachers,
    TeachSettings,
    check_teachers,
    combine,
    load_target,
    open_cache,
    save_target,
    target_path,
)

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
HELDOUT_PERCENT = 10
# Video frames named like DAVIS's "blackswan_00040": one group per video, so that near-identical
# frames never sit on both sides of the split.
_FRAME_NUMBER = re.compile(r"_\d{5}$")


@dataclass(frozen=True)
class TeachConfig:
    """The ``[teach]`` table of a training config."""

    teachers: Path
    photos: tuple[Path, ...]
    cache: Path
    workers: int = 2
    settings: TeachSettings = TeachSettings()

    @classmethod
    def from_dict(cls, table: dict[str, Any]) -> TeachConfig:
        table = dict(table)
        setting_names = {f.name for f in fields(TeachSettings)} - {"recipe"}
        known = {"teachers", "photos", "cache", "workers"} | setting_names
        unknown = sorted(set(table) - known)
        if unknown:
            raise OptionError(f"[teach]: unknown key {unknown[0]!r}; known keys: {', '.join(sorted(known))}")
        missing = sorted({"teachers", "photos", "cache"} - set(table))
        if missing:
            raise OptionError(f"[teach]: missing {', '.join(missing)}")
        photos = table["photos"]
        if not isinstance(photos, list) or not photos or not all(isinstance(p, str) for p in photos):
            raise OptionError("[teach]: photos must be a non-empty list of folders")
        workers = table.get("workers", 2)
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise OptionError(f"[teach]: workers must be a whole number >= 1, got {workers!r}")
        for key in setting_names & set(table):
            if not isinstance(table[key], int | float) or isinstance(table[key], bool) or table[key] <= 0:
                raise OptionError(f"[teach]: {key} must be a positive number, got {table[key]!r}")
        settings = TeachSettings(**{k: float(table[k]) for k in setting_names if k in table})
        return cls(Path(table["teachers"]), tuple(Path(p) for p in photos), Path(table["cache"]), workers, settings)


def list_photos(folders: Sequence[Path]) -> list[tuple[Path, Path]]:
    """(root, photo) for every image under ``folders``, sorted; InputError for a missing folder."""
    found = []
    for root in folders:
        if not root.is_dir():
            raise InputError(f"{root}: no such folder")
        found += [(root, p) for p in sorted(root.rglob("*")) if p.suffix.lower() in PHOTO_SUFFIXES and p.is_file()]
    if not found:
        raise InputError(f"no photos under {', '.join(map(str, folders))}")
    return found


def photo_split(path: Path) -> str:
    """"heldout" for about HELDOUT_PERCENT % of photos, "train" for the rest (SHA-256 of the name)."""
    group = _FRAME_NUMBER.sub("", path.stem)
    digest = hashlib.sha256(f"{path.parent.name}/{group}".encode()).digest()
    return "heldout" if int.from_bytes(digest[:8], "big") % 100 < HELDOUT_PERCENT else "train"


# --- the teach pass ------------------------------------------------------------------------------


def teach(config: TeachConfig) -> dict[str, int]:
    """Teacher targets for every photo without one yet; returns counts of made and skipped photos."""
    check_teachers(config.teachers)  # in the pool's workers a missing file would break the pool, not say why
    cache = open_cache(config.cache, config.settings)
    photos = list_photos(config.photos)
    todo = [(root, p) for root, p in photos if not target_path(cache, p, root).exists()]
    jobs = [(str(p), str(target_path(cache, p, root))) for root, p in todo]
    with _progress() as progress:
        task = progress.add_task("teachers", total=len(photos), completed=len(photos) - len(todo))
        with ProcessPoolExecutor(config.workers, initializer=_start_worker,
                                 initargs=(str(config.teachers), config.settings)) as pool:
            chunk = max(1, min(16, len(jobs) // (4 * config.workers) or 1))
            for _ in pool.map(_teach_one, jobs, chunksize=chunk):
                progress.advance(task)
    return {"photos": len(photos), "made": len(todo), "skipped": len(photos) - len(todo)}


_worker: tuple[Teachers, TeachSettings] | None = None


def _start_worker(teachers: str, settings: TeachSettings) -> None:
    global _worker
    _worker = (Teachers(teachers, threads=1), settings)


def _teach_one(job: tuple[str, str]) -> None:
    assert _worker is not None
    teachers, settings = _worker
    photo, target = job
    pixels = load_image(photo).pixels
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    save_target(Path(target), combine(teachers(pixels), settings))


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn())


# --- reading photos with their targets ------------------------------------------------------------


@dataclass(frozen=True)
class TaughtPhoto:
    """A photo (uint8 HxWx3) and its teacher target (uint8 KxhxW at TARGET_STRIDE, columns sum to 255 or 0)."""

    name: str
    image: np.ndarray
    target: np.ndarray


def read_taught_photos(teach_config: TeachConfig, split: str) -> list[TaughtPhoto]:
    """The photos of ``split`` ("train", "heldout" or "all") that have a cached target."""
    if split not in ("train", "heldout", "all"):
        raise InputError(f"photos split must be train, heldout or all, not {split!r}")
    cache = open_cache(teach_config.cache, teach_config.settings)
    chosen = [(root, p) for root, p in list_photos(teach_config.photos) if split == "all" or photo_split(p) == split]
    missing = [p for root, p in chosen if not target_path(cache, p, root).exists()]
    if missing:
        raise InputError(
            f"{len(missing)} photos have no teacher target yet (first: {missing[0]}); run python -m segpress.train teach"
        )
    return list(_load(cache, chosen))


def _load(cache: Path, chosen: list[tuple[Path, Path]]) -> Iterator[TaughtPhoto]:
    for root, photo in chosen:
        pixels = load_image(photo).pixels
        if pixels.ndim == 2:
            pixels = np.repeat(pixels[..., None], 3, axis=2)
        yield TaughtPhoto(str(photo.relative_to(root)), pixels, load_target(target_path(cache, photo, root)))


def write_teacher_dataset(teach_config: TeachConfig, split: str, out: Path) -> int:
    """The photos of ``split`` as a folder dataset ``segpress evaluate`` reads: ``out/images`` (copies),
    ``out/labels`` (the combined teacher's labels, 255 where it gave none) and ``out/classes.txt``
    (the taxonomy). Names join the photo's folders with "__". Returns the number of photos."""
    cache = open_cache(teach_config.cache, teach_config.settings)
    chosen = [(root, p) for root, p in list_photos(teach_config.photos) if split == "all" or photo_split(p) == split]
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(exist_ok=True)
    for root, photo in chosen:
        name = "__".join(photo.relative_to(root).with_suffix("").parts)
        shutil.copyfile(photo, out / "images" / f"{name}{photo.suffix.lower()}")
        pixels = load_image(photo).pixels
        labels = teacher_labels(load_target(target_path(cache, photo, root)), pixels.shape[:2])
        buffer = io.BytesIO()
        Image.fromarray(labels).save(buffer, "PNG")
        atomic_write(out / "labels" / f"{name}.png", buffer.getvalue(), overwrite=True)
    atomic_write(out / "classes.txt", ("\n".join(CLASSES) + "\n").encode(), overwrite=True)
    return len(chosen)


def teacher_labels(target: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The combined teacher's hard labels at ``size`` (h, w): argmax, ``UNLABELLED`` where it gave no target."""
    labels = np.where(target.sum(axis=0) > 0, target.argmax(axis=0), UNLABELLED).astype(np.uint8)
    return np.asarray(Image.fromarray(labels).resize(size[::-1], Image.Resampling.NEAREST))
