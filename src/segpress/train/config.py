"""Training configuration: one flat TOML file plus ``[[train_data]]`` / ``[[val_data]]`` tables.

    output_dir = "build/train/default"
    epochs = 25
    ...
    [[train_data]]
    format = "camvid"            # camvid | msrc | folder
    root = "../shared/data/camvid"
    split = "train"

A ``folder`` dataset names ``images``, ``labels``, ``classes`` and optionally ``mapping`` instead of
``root``/``split`` (see :func:`segpress.datasets.read_folder`). Relative paths are taken from the
current directory, as for every other segpress command. Unknown keys are refused, so a typo cannot
silently fall back to a default.
"""

from __future__ import annotations

import inspect
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from segpress.datasets import READERS
from segpress.errors import OptionError
from segpress.train.photos import TeachConfig

CLASS_WEIGHTINGS = ("enet", "none")
# A [[train_data]] / [[val_data]] of this format is the [teach] table's photos, split "train" or "heldout".
PHOTOS_FORMAT = "photos"


@dataclass(frozen=True)
class DatasetSpec:
    """Which reader of ``segpress.datasets.READERS`` to call, and its keyword arguments."""

    format: str
    options: dict[str, str]

    @classmethod
    def from_dict(cls, table: dict[str, Any], where: str) -> DatasetSpec:
        table = dict(table)
        fmt = table.pop("format", None)
        if fmt == PHOTOS_FORMAT:
            _check_keys(table, {"split"}, set(), where)
            return cls(fmt, {"split": str(table["split"])})
        if fmt not in READERS:
            raise OptionError(f"{where}: format must be one of {', '.join([*READERS, PHOTOS_FORMAT])}, not {fmt!r}")
        # The reader's signature is the single list of keys a format takes.
        parameters = inspect.signature(READERS[fmt]).parameters.values()
        required = {p.name for p in parameters if p.default is p.empty}
        _check_keys(table, required, {p.name for p in parameters} - required, where)
        return cls(fmt, {key: str(value) for key, value in table.items()})


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on; :func:`segpress.train.loop.train` reads nothing else."""

    train_data: tuple[DatasetSpec, ...]
    val_data: tuple[DatasetSpec, ...]
    output_dir: Path
    epochs: int
    batch_size: int = 8
    crop_size: tuple[int, int] = (288, 384)  # height, width
    scale_range: tuple[float, float] = (0.5, 2.0)
    lr: float = 1e-3
    weight_decay: float = 1e-2
    class_weighting: str = "enet"
    pretrained: bool = True
    # Start from the weights of an earlier run's checkpoint (a second stage with a fresh optimiser and
    # learning-rate schedule); None starts from ImageNet (``pretrained``) or from scratch.
    init_from: Path | None = None
    seed: int = 0
    threads: int = 2
    # Processes that build training steps (0: the training process itself). Worth it beside a GPU.
    loader_workers: int = 0
    resume: bool = False
    # Teacher targets for unlabelled photos (``[teach]``): what ``teach`` makes and "photos" datasets read.
    teach: TeachConfig | None = None
    # Weight of the teachers' soft cross-entropy against the labelled sets' cross-entropy.
    distill_weight: float = 1.0
    # The file this came from, so that checkpoints and the exported model can name the command.
    source: Path | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain TOML-like values (str, int, float, bool, lists, dicts), safe for ``torch.load(weights_only=True)``."""
        values = asdict(self)
        values["train_data"] = [{"format": s.format, **s.options} for s in self.train_data]
        values["val_data"] = [{"format": s.format, **s.options} for s in self.val_data]
        values["output_dir"] = str(self.output_dir)
        values["crop_size"] = list(self.crop_size)
        values["scale_range"] = list(self.scale_range)
        values["init_from"] = None if self.init_from is None else str(self.init_from)
        values["source"] = None if self.source is None else str(self.source)
        if self.teach is not None:
            values["teach"] = {
                "teachers": str(self.teach.teachers), "photos": [str(p) for p in self.teach.photos],
                "cache": str(self.teach.cache), "workers": self.teach.workers, **asdict(self.teach.settings),
            }
            del values["teach"]["recipe"]
        return values

    @property
    def command(self) -> str | None:
        return None if self.source is None else f"python -m segpress.train train {self.source}"

    @classmethod
    def from_dict(cls, table: dict[str, Any], *, source: Path | None = None) -> TrainConfig:
        names = {f.name for f in fields(cls)} - {"source"}
        required = {"train_data", "val_data", "output_dir", "epochs"}
        _check_keys(table, required, names - required, str(source or "config"))
        values = dict(table)
        for key in ("train_data", "val_data"):
            if not isinstance(values[key], list) or not values[key]:
                raise OptionError(f"{key} must be a non-empty list of [[{key}]] tables")
            values[key] = tuple(
                DatasetSpec.from_dict(spec, f"{key}[{i}]") for i, spec in enumerate(values[key])
            )
        values["output_dir"] = Path(values["output_dir"])
        if values.get("teach") is not None:
            values["teach"] = TeachConfig.from_dict(values["teach"])
        if values.get("init_from") is not None:
            values["init_from"] = Path(values["init_from"])
        for key in ("crop_size", "scale_range"):
            if key in values:
                values[key] = _pair(values[key], key)
        config = cls(**values, source=source)
        config.validate()
        uses_photos = any(spec.format == PHOTOS_FORMAT for spec in (*config.train_data, *config.val_data))
        if uses_photos and config.teach is None:
            raise OptionError(f"{source or 'config'}: a photos dataset needs a [teach] table")
        if not any(spec.format != PHOTOS_FORMAT for spec in config.train_data):
            raise OptionError(f"{source or 'config'}: train_data needs at least one labelled dataset besides photos")
        return config

    def validate(self) -> None:
        for key in ("epochs", "batch_size", "threads"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise OptionError(f"{key} must be a positive whole number, got {value!r}")
        if not isinstance(self.lr, int | float) or not self.lr > 0:
            raise OptionError(f"lr must be a positive number, got {self.lr!r}")
        if not isinstance(self.loader_workers, int) or isinstance(self.loader_workers, bool) or self.loader_workers < 0:
            raise OptionError(f"loader_workers must be a whole number >= 0, got {self.loader_workers!r}")
        if not isinstance(self.distill_weight, int | float) or self.distill_weight < 0:
            raise OptionError(f"distill_weight must be >= 0, got {self.distill_weight!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise OptionError(f"seed must be a whole number >= 0, got {self.seed!r}")
        if not isinstance(self.weight_decay, int | float) or self.weight_decay < 0:
            raise OptionError(f"weight_decay must be >= 0, got {self.weight_decay!r}")
        if any(not isinstance(side, int) or side < 32 for side in self.crop_size):
            raise OptionError(f"crop_size must be two whole numbers >= 32 (height, width), got {self.crop_size}")
        low, high = self.scale_range
        if not 0 < low <= high:
            raise OptionError(f"scale_range must be [low, high] with 0 < low <= high, got {self.scale_range}")
        if self.class_weighting not in CLASS_WEIGHTINGS:
            raise OptionError(
                f"class_weighting must be one of {', '.join(CLASS_WEIGHTINGS)}, not {self.class_weighting!r}"
            )


def load_config(path: str | Path, **overrides: Any) -> TrainConfig:
    """Read a TOML training config; ``overrides`` replace top-level keys (e.g. ``resume=True``)."""
    path = Path(path)
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise OptionError(f"{path}: cannot read the training config ({' '.join(str(e).split())})") from e
    return TrainConfig.from_dict({**table, **overrides}, source=path)


def _check_keys(table: dict[str, Any], required: set[str], optional: set[str], where: str) -> None:
    missing = sorted(required - table.keys())
    if missing:
        raise OptionError(f"{where}: missing {', '.join(missing)}")
    unknown = sorted(table.keys() - required - optional)
    if unknown:
        raise OptionError(f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(sorted(required | optional))}")


def _pair(value: Any, key: str) -> tuple[Any, Any]:
    numbers = isinstance(value, list | tuple) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    )
    if not numbers or len(value) != 2:
        raise OptionError(f"{key} must be a list of two numbers, got {value!r}")
    return tuple(value)
