"""Finding and configuring segmenters: the shipped model, exported models and user models.

Three kinds of description, one :class:`~segpress.segmenters.onnx.ModelConfig`::

    segpress/models/segmenter.json  (written by segpress.train.export) ─┐
    any exported NAME.onnx + NAME.json beside it ───────────────────────┼─ ModelConfig + .onnx ─ OnnxSegmenter
    a user config, TOML or YAML (below) ────────────────────────────────┘

A user config names an ONNX file (relative paths are taken from the config's folder) and says how to
feed it and what its output channels mean::

    name = "my-people-model"               # optional; default: the config's file name
    model = "people.onnx"
    classes = ["background", "person", "car", "dog"]   # the model's output channels, in order
    mean = [0.485, 0.456, 0.406]           # normalisation of pixel / 255; default 0 and 1
    std = [0.229, 0.224, 0.225]
    max_side = 512                         # or input_size = [height, width] for a fixed-size model
    outputs = "logits"                     # or "probabilities" if the model ends with a softmax

    [mapping]                              # model class -> taxonomy class; others are ignored
    person = "person"
    car = "vehicle"
    dog = "animal"

Several model classes may map to one taxonomy class (their probabilities add up). Pixels where an
unmapped class ("background" above) is most likely get label 255, and policies weigh that
probability with their ``default``. Without a ``mapping`` table, the classes named like taxonomy
classes map to themselves. Optional tuning keys: ``stride`` (16), ``tile_pixels``, ``overlap``,
``batch_size``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import tomllib
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

import yaml

from segpress.errors import InputError, OptionError
from segpress.taxonomy import CLASSES

from .base import Segmenter
from .onnx import DEFAULT_MAX_SIDE, ModelConfig, OnnxSegmenter

DEFAULT_NAME = "default"
_CONFIG_SUFFIXES = (".toml", ".yaml", ".yml")
_USER_KEYS = (
    "name", "model", "classes", "mapping", "mean", "std", "max_side", "input_size", "stride",
    "tile_pixels", "overlap", "batch_size", "outputs",
)
_resources = contextlib.ExitStack()  # keeps the shipped files on disk (a zipped install extracts them)


def shipped_model_dir() -> Path:
    """The folder holding the shipped ``segmenter.onnx`` and ``segmenter.json``."""
    return _resources.enter_context(resources.as_file(resources.files("segpress") / "models"))


def default_segmenter(threads: int | None = None) -> OnnxSegmenter:
    """The model shipped in ``segpress/models/``, loaded once per process (per ``threads`` value)."""
    return _default(threads)


@functools.lru_cache(maxsize=4)
def _default(threads: int | None) -> OnnxSegmenter:
    metadata = shipped_model_dir() / "segmenter.json"
    if not metadata.is_file() or not metadata.with_suffix(".onnx").is_file():
        raise InputError(
            f"the shipped segmentation model is missing from {metadata.parent}; "
            "reinstall segpress, or give --mask / --labels"
        )
    return _from_metadata(metadata, metadata.with_suffix(".onnx"), threads)


def describe_shipped() -> str:
    """One line about the shipped model, from its metadata alone (no model is loaded)."""
    metadata_path = shipped_model_dir() / "segmenter.json"
    try:
        metadata = read_metadata(metadata_path)
    except InputError:
        return f"missing or unreadable ({metadata_path})"
    miou = metadata.get("metrics", {}).get("miou")
    quality = f", validation mIoU {miou:.3f}" if isinstance(miou, float) else ""
    return f"{metadata.get('name', 'model')}{quality} ({metadata_path.with_suffix('.onnx')})"


def load_segmenter(name_or_path: str | PathLike[str], *, threads: int | None = None) -> OnnxSegmenter:
    """``"default"``, a user config (.toml/.yaml/.yml), or an exported ``.onnx`` / its ``.json``.

    Loaded segmenters are cached by path and modification time, so a loop calling
    ``segpress.compress(..., segmenter="model.toml")`` loads the model once.
    """
    if isinstance(name_or_path, str) and name_or_path == DEFAULT_NAME:
        return default_segmenter(threads)
    path = Path(name_or_path)
    suffix = path.suffix.lower()
    if suffix not in (*_CONFIG_SUFFIXES, ".onnx", ".json"):
        raise OptionError(
            f"segmenter {name_or_path!s}: give {DEFAULT_NAME!r}, a model config ({'/'.join(_CONFIG_SUFFIXES)}) "
            "or an exported .onnx with its .json"
        )
    if not path.is_file():
        raise OptionError(f"segmenter file not found: {path}")
    return _load_cached(path.resolve(), path.stat().st_mtime_ns, threads)


def resolve_segmenter(segmenter: Segmenter | str | PathLike[str] | None) -> Segmenter:
    """What the API's ``segmenter=`` argument names: None is the shipped model."""
    if segmenter is None:
        return default_segmenter()
    if isinstance(segmenter, Segmenter):
        return segmenter
    if isinstance(segmenter, (str, PathLike)):
        return load_segmenter(segmenter)
    raise OptionError(f"segmenter must be a Segmenter, a config path or None, not {type(segmenter).__name__}")


@functools.lru_cache(maxsize=8)
def _load_cached(path: Path, mtime_ns: int, threads: int | None) -> OnnxSegmenter:
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        metadata = path.with_suffix(".json")
        if not metadata.is_file():
            raise OptionError(f"{path}: no {metadata.name} beside it; write a model config (TOML/YAML) instead")
        return _from_metadata(metadata, path, threads)
    if suffix == ".json":
        return _from_metadata(path, path.with_suffix(".onnx"), threads)
    config, model = read_user_config(path)
    return OnnxSegmenter(model, config, threads=threads)


def read_metadata(path: Path) -> dict[str, Any]:
    """An export's metadata JSON (see ``segpress.train.export``), checked for what inference needs."""
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: cannot read the model metadata ({error})") from None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("categories"), list):
        raise InputError(f"{path}: model metadata without a 'categories' list")
    if not isinstance(metadata.get("input"), dict):
        raise InputError(f"{path}: model metadata without an 'input' table (mean, std)")
    return metadata


def config_from_metadata(metadata: dict[str, Any], source: str = "") -> ModelConfig:
    """The ModelConfig of an exported model: its categories are taxonomy names, so they map to themselves."""
    categories = tuple(str(c) for c in metadata["categories"])
    inputs = metadata["input"]
    try:
        return ModelConfig(
            name=str(metadata.get("name", "model")),
            classes=categories,
            mapping={c: c for c in categories if c in CLASSES},
            mean=tuple(float(v) for v in inputs.get("mean", (0, 0, 0))),
            std=tuple(float(v) for v in inputs.get("std", (1, 1, 1))),
            max_side=int(inputs.get("max_side", DEFAULT_MAX_SIDE)),
            source=source,
        )
    except OptionError as error:
        raise InputError(str(error)) from None
    except (TypeError, ValueError) as error:
        raise InputError(f"{source}: malformed model metadata ({error})") from None


def _from_metadata(metadata_path: Path, model_path: Path, threads: int | None) -> OnnxSegmenter:
    metadata = read_metadata(metadata_path)
    if not model_path.is_file():
        raise InputError(f"{model_path}: model file not found (its metadata is {metadata_path.name})")
    expected = metadata.get("sha256")
    if expected and hashlib.sha256(model_path.read_bytes()).hexdigest() != expected:
        raise InputError(
            f"{model_path.name} does not match {metadata_path.name} (sha256 differs): "
            "copy both files from the same export"
        )
    return OnnxSegmenter(model_path, config_from_metadata(metadata, str(metadata_path)), threads=threads)


def read_user_config(path: Path) -> tuple[ModelConfig, Path]:
    """A user model config and the ONNX file it names; OptionError says what is wrong, on one line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise OptionError(f"cannot read segmenter config {path}: {error}") from None
    data = _parse(path, text)
    if not isinstance(data, dict):
        raise OptionError(f"segmenter config {path}: expected a table of keys at the top level")
    unknown = [str(k) for k in data if k not in _USER_KEYS]
    if unknown:
        raise OptionError(f"segmenter config {path}: unknown key '{unknown[0]}'; valid keys: {', '.join(_USER_KEYS)}")
    for key in ("model", "classes"):
        if key not in data:
            raise OptionError(f"segmenter config {path}: missing '{key}'")
    if not isinstance(data["model"], str) or not data["model"]:
        raise OptionError(f"segmenter config {path}: 'model' must be the path of an .onnx file")
    model = (path.parent / data["model"]).resolve()
    if not model.is_file():
        raise OptionError(f"segmenter config {path}: model file not found: {model}")
    classes = data["classes"]
    if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
        raise OptionError(f"segmenter config {path}: 'classes' must be a list of names")
    mapping = data.get("mapping", {c: c for c in classes if c in CLASSES})
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise OptionError(f"segmenter config {path}: 'mapping' must be a table of model class = taxonomy class")
    fields: dict[str, Any] = {
        "name": path.stem, "classes": tuple(classes), "mapping": {str(k): v for k, v in mapping.items()},
    }
    for key in ("name", "outputs"):
        if key in data:
            fields[key] = _typed(path, key, data[key], str)
    for key in ("mean", "std", "input_size"):
        if key in data:
            value = data[key]
            kind = int if key == "input_size" else float
            if not isinstance(value, list) or not all(_is_number(v) for v in value):
                raise OptionError(f"segmenter config {path}: '{key}' must be a list of numbers")
            fields[key] = tuple(kind(v) for v in value)
    for key in ("max_side", "stride", "tile_pixels", "overlap", "batch_size"):
        if key in data:
            fields[key] = _typed(path, key, data[key], int)
    return ModelConfig(**fields, source=f"segmenter config {path}"), model


def _parse(path: Path, text: str) -> Any:
    try:
        if path.suffix.lower() == ".toml":
            return tomllib.loads(text)
        return yaml.safe_load(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as error:
        reason = " ".join(str(error).split())
    except RecursionError:  # both parsers recurse once per level of nesting
        reason = "nested too deeply"
    raise OptionError(f"cannot parse segmenter config {path}: {reason}")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _typed(path: Path, key: str, value: object, kind: type) -> Any:
    valid = _is_number(value) and float(value).is_integer() if kind is int else isinstance(value, kind)
    if not valid:
        wanted = "an integer" if kind is int else "a string"
        raise OptionError(f"segmenter config {path}: '{key}' must be {wanted}, got {value!r}")
    return kind(value)
