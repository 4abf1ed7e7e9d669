"""Pack a training config's training data into one folder, to train on another machine (a GPU box).

    python scripts/pack_training_data.py configs/general.toml build/pack [--jpeg-quality 90] [--target-stride 8]

Writes ``build/pack/`` with the CamVid and MSRC-v2 training images and labels, the photos of the
training split with their cached teacher targets, and ``config.toml``: the same config with its
paths pointing into the pack. Validation data is left out: train there with ``--no-val`` and
evaluate the checkpoint here. To stay small, the labelled sets' images are re-encoded as JPEG
(labels stay lossless PNG) and the teacher targets are averaged down to ``--target-stride``
(the training transform resizes a target to its photo whatever its resolution). Photos are copied
byte for byte. Nothing from ``../shared`` may be committed: the pack lives under build/.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tomllib
from pathlib import Path

import numpy as np
from PIL import Image

from segpress.datasets import msrc_split
from segpress.train.config import PHOTOS_FORMAT, load_config
from segpress.train.photos import list_photos, photo_split
from segpress.train.teachers import SETTINGS_FILE, TARGET_STRIDE, load_target, save_target, target_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config")
    parser.add_argument("out")
    parser.add_argument("--jpeg-quality", type=int, default=90)
    parser.add_argument("--target-stride", type=int, default=8)
    args = parser.parse_args(argv)
    config = load_config(args.config)
    out = Path(args.out)
    table = tomllib.loads(Path(args.config).read_text(encoding="utf-8"))
    train_data = []
    for spec in config.train_data:
        if spec.format == "camvid":
            root = Path(spec.options["root"])
            split = spec.options["split"]
            _copy_pairs(root / split, root / f"{split}annot", out / "camvid" / split, out / "camvid" / f"{split}annot",
                        args.jpeg_quality, lambda name: True)
            train_data.append({"format": "camvid", "root": str(out / "camvid"), "split": split})
        elif spec.format == "msrc":
            root = Path(spec.options["root"])
            split = spec.options["split"]
            _copy_pairs(root / "images", root / "labels", out / "msrc" / "images", out / "msrc" / "labels",
                        args.jpeg_quality, lambda name: split == "all" or msrc_split(name) == split)
            train_data.append({"format": "msrc", "root": str(out / "msrc"), "split": split})
        elif spec.format == PHOTOS_FORMAT:
            _copy_photos(config, out, spec.options["split"], args.target_stride)
            train_data.append({"format": PHOTOS_FORMAT, "split": spec.options["split"]})
        else:
            print(f"error: cannot pack a {spec.format} dataset", file=sys.stderr)
            return 2
    table["train_data"] = train_data
    table["val_data"] = train_data[:1]  # unused with --no-val, but a config must name one
    table["output_dir"] = str(out / "run")
    if "teach" in table:
        table["teach"].update(photos=[str(out / "photos" / p.name) for p in config.teach.photos], cache=str(out / "teach"))
    (out / "config.toml").write_text(_toml(table), encoding="utf-8")
    print(f"packed into {out}: {sum(f.stat().st_size for f in out.rglob('*') if f.is_file()) / 2**20:.1f} MiB")
    return 0


def _copy_pairs(images: Path, labels: Path, out_images: Path, out_labels: Path, quality: int, keep) -> None:
    out_images.mkdir(parents=True, exist_ok=True)
    out_labels.mkdir(parents=True, exist_ok=True)
    for image in sorted(images.iterdir()):
        if not keep(image.name):
            continue
        Image.open(image).convert("RGB").save(out_images / f"{image.stem}.jpg", quality=quality)
        shutil.copyfile(labels / f"{image.stem}.png", out_labels / f"{image.stem}.png")


def _copy_photos(config, out: Path, split: str, stride: int) -> None:
    factor = stride // TARGET_STRIDE
    cache = Path(config.teach.cache)
    (out / "teach").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cache / SETTINGS_FILE, out / "teach" / SETTINGS_FILE)
    for root, photo in list_photos(config.teach.photos):
        if photo_split(photo) != split:
            continue
        relative = photo.relative_to(root)
        destination = out / "photos" / root.name / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(photo, destination)
        target = load_target(target_path(cache, photo, root)).astype(np.float32) / 255
        packed = target_path(out / "teach", destination, out / "photos" / root.name)
        packed.parent.mkdir(parents=True, exist_ok=True)
        save_target(packed, _pool(target, factor))


def _pool(target: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor`` x ``factor`` cells; a cell with a target-less pixel keeps the mass it has."""
    if factor <= 1:
        return target
    k, h, w = target.shape
    padded = np.zeros((k, -(-h // factor) * factor, -(-w // factor) * factor), np.float32)
    padded[:, :h, :w] = target
    pooled = padded.reshape(k, padded.shape[1] // factor, factor, padded.shape[2] // factor, factor).mean(axis=(2, 4))
    mass = pooled.sum(axis=0, keepdims=True)
    # Cells mostly without a target give none; the others are renormalised to a distribution.
    return np.where(mass >= 0.5, pooled / np.maximum(mass, 1e-6), 0)


def _toml(table: dict) -> str:
    lines = []
    for key, value in table.items():
        if not isinstance(value, dict | list) or (isinstance(value, list) and not any(isinstance(v, dict) for v in value)):
            lines.append(f"{key} = {_value(value)}")
    for key, value in table.items():
        if isinstance(value, dict):
            lines.append(f"\n[{key}]")
            lines += [f"{k} = {_value(v)}" for k, v in value.items()]
    for key, value in table.items():
        if isinstance(value, list) and any(isinstance(v, dict) for v in value):
            for entry in value:
                lines.append(f"\n[[{key}]]")
                lines += [f"{k} = {_value(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return repr(value)


if __name__ == "__main__":
    sys.exit(main())
