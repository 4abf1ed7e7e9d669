"""Policies: how much each taxonomy class matters, and how to shape the resulting map.

A policy gives every class of :data:`segpress.taxonomy.CLASSES` an importance in [0, 1]
(1 = encode at ROI quality, 0 = background quality) plus the shaping defaults that
:func:`segpress.importance.shape` applies to the map: ``margin`` (grow important regions),
``feather`` (soft ramp around them) and ``min_area`` (drop specks). Lengths >= 1 are pixels;
values in (0, 1) are a fraction of the image's longer side (margin, feather) or of its area
(min_area).

Presets ship as ``segpress/policies/<name>.toml``. A user policy is a ``.toml``, ``.yaml`` or
``.yml`` file with the same fields; every key except ``weights`` is optional::

    name = "dashcam"
    description = "Plates and people sharp, the rest cheap"
    default = 0.0        # importance of classes not listed in [weights]
    margin = 6           # pixels, or a fraction of the longer side if < 1
    feather = 0.02       # 2% of the longer side
    min_area = 32        # pixels, or a fraction of the image area if < 1
    map_rule = "recall"  # how class probabilities become importance (below)
    confidence = 0.5     # the probability at which a class counts in full
    text_scale = 1.0     # the text detector's working scale under this policy (--text-scale overrides)
    scene_fidelity = 0   # the scene floor (compress --scene-fidelity) for maps a segmenter made; 0: off

    [weights]
    person = 1.0
    vehicle = 0.8
    sign = 1.0
    pole = 0.3

The YAML form is the same keys at top level with ``weights`` as a mapping.

**Map rules.** A segmentation model gives each pixel a probability p_c per class; ``map_rule`` says how
the class weights w_c turn them into importance (``importance.from_probabilities``; a label map or a
mask is used as given):

- ``expected``: sum_c p_c * w_c, the expected weight. A person the model is 70 % sure of is coded
  at 0.7, between the two qualities, and a mid-weight class sharing a pixel drags it down.
- ``recall`` (the default): max_c w_c * min(1, p_c / confidence): a class at least ``confidence``
  likely counts in full, one less likely in proportion; no class lowers another.
- ``regions``: ``recall``, and every connected region where a class is at least confidence / 2
  likely and that touches a pixel where it is at least ``confidence`` likely counts in full
  (hysteresis): an object the model found is kept whole at its weight, its uncertain edges included.

Measured with ``segpress bench`` on 20 CamVid val frames (judged by the ground truth), BD-rate of PSNR
inside against the same format's uniform encode, expected / recall / regions: JPEG -37.7 / -40.9 /
-40.2 %, WebP -21.6 / -26.2 / -25.7 %, AVIF -32.8 / -37.3 / -37.3 %, JPEG XL from pixels -10.8 / -20.2
/ -20.8 %, JPEG 2000 -28.6 / -30.2 / -29.6 % (README, "Policies").
"""

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import yaml

from segpress.errors import OptionError
from segpress.taxonomy import CLASSES

_FILE_SUFFIXES = (".toml", ".yaml", ".yml")
# Importance sources a policy can weigh in its [sources] table (see the module docstring).
SOURCES = ("classes", "mask", "text")
# How class probabilities become importance (see "Map rules" above; importance.from_probabilities).
MAP_RULES = ("expected", "recall", "regions")


def _is_number(value: object) -> bool:
    # bool is an int subclass, but `person = true` is a mistake, not a weight of 1.
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class Policy:
    """Importance per taxonomy class, plus this policy's shaping defaults."""

    name: str
    weights: Mapping[str, float]
    default: float = 0.0
    margin: float = 4
    feather: float = 8
    min_area: float = 64
    description: str = ""
    sources: Mapping[str, float] = field(default_factory=dict)  # source -> weight; unlisted: 1
    map_rule: str = "recall"  # one of MAP_RULES
    confidence: float = 0.5  # probability at which a class counts in full (map rules recall, regions)
    text_scale: float | None = None  # the text detector's working scale; None: segpress.text.DEFAULT_SCALE
    # The scene floor (segpress.scenefloor) when compress is not given one: the share of the original's
    # confident labels the decoded file must keep; 0: off. Applies to maps a segmenter made.
    scene_fidelity: float = 0.0

    def __post_init__(self) -> None:
        for key in ("name", "description"):
            if not isinstance(getattr(self, key), str):
                raise OptionError(f"'{key}' must be a string")
        if not isinstance(self.weights, Mapping):
            raise OptionError("'weights' must be a table of class = importance")
        for cls, weight in self.weights.items():
            if cls not in CLASSES:
                raise OptionError(f"unknown class '{cls}' in weights; valid classes: {', '.join(CLASSES)}")
            _check_unit(f"weight of '{cls}'", weight)
        _check_unit("'default'", self.default)
        _check_unit("'scene_fidelity'", self.scene_fidelity)
        for key in ("margin", "feather", "min_area"):
            value = getattr(self, key)
            if not _is_number(value) or not math.isfinite(value) or value < 0:
                raise OptionError(f"'{key}' must be a non-negative number, got {value!r}")
        if self.map_rule not in MAP_RULES:
            raise OptionError(f"unknown map_rule {self.map_rule!r}; valid rules: {', '.join(MAP_RULES)}")
        if not _is_number(self.confidence) or not 0.0 < self.confidence <= 1.0:
            raise OptionError(f"'confidence' must be a number in (0, 1], got {self.confidence!r}")
        if self.text_scale is not None and not (
            _is_number(self.text_scale) and math.isfinite(self.text_scale) and 0 < self.text_scale <= 4
        ):
            raise OptionError(f"'text_scale' must be a number in (0, 4], got {self.text_scale!r}")
        if not isinstance(self.sources, Mapping):
            raise OptionError("'sources' must be a table of source = weight")
        for source, weight in self.sources.items():
            if source not in SOURCES:
                raise OptionError(f"unknown source '{source}' in sources; valid sources: {', '.join(SOURCES)}")
            _check_unit(f"weight of source '{source}'", weight)
        # Freeze private copies so a preset cannot be edited through a caller's dict.
        object.__setattr__(self, "weights", MappingProxyType({c: float(w) for c, w in self.weights.items()}))
        object.__setattr__(self, "sources", MappingProxyType({s: float(w) for s, w in self.sources.items()}))

    def source_weight(self, source: str) -> float:
        """The weight of an importance source (``SOURCES``): as listed in ``[sources]``, else 1."""
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}")
        return self.sources.get(source, 1.0)

    @property
    def text_by_default(self) -> bool:
        """Whether the policy turns text detection on when the caller does not say (``text`` > 0 listed)."""
        return self.sources.get("text", 0.0) > 0

    def weight_vector(self, classes: Sequence[str]) -> np.ndarray:
        """Weights for ``classes`` in that order (float32); unlisted classes get ``default``."""
        return np.array([self.weights.get(c, self.default) for c in classes], dtype=np.float32)


def _check_unit(what: str, value: object) -> None:
    if not _is_number(value) or not 0.0 <= value <= 1.0:
        raise OptionError(f"{what} must be a number in [0, 1], got {value!r}")


def _from_mapping(data: Any, default_name: str) -> Policy:
    if not isinstance(data, Mapping):
        raise OptionError("expected a table of policy fields at the top level")
    known = [f.name for f in fields(Policy)]
    unknown = [str(k) for k in data if k not in known]
    if unknown:
        raise OptionError(f"unknown key '{unknown[0]}'; valid keys: {', '.join(known)}")
    if "weights" not in data:
        raise OptionError("missing 'weights' table")
    return Policy(**{"name": default_name, **data})


def _load_presets() -> dict[str, Policy]:
    folder = resources.files("segpress") / "policies"
    presets = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            stem = entry.name.removesuffix(".toml")
            presets[stem] = _from_mapping(tomllib.loads(entry.read_text(encoding="utf-8")), stem)
    return presets


PRESETS: dict[str, Policy] = _load_presets()


def available_policies() -> list[str]:
    """Names of the shipped presets, sorted."""
    return sorted(PRESETS)


def _parse(path: Path, text: str) -> Any:
    try:
        if path.suffix.lower() == ".toml":
            return tomllib.loads(text)
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        reason = f"{err.problem or err.context}{where}"
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as err:
        reason = str(err)
    except RecursionError:  # both parsers recurse once per level of nesting
        reason = "nested too deeply"
    raise OptionError(f"cannot parse policy file {path}: {reason.splitlines()[0]}")


def _load_file(path: Path) -> Policy:
    if not path.is_file():
        raise OptionError(f"policy file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise OptionError(f"cannot read policy file {path}: {err}") from None
    data = _parse(path, text)
    try:
        return _from_mapping(data, path.stem)
    except OptionError as err:
        raise OptionError(f"policy file {path}: {err}") from None


def load_policy(name_or_path: str | Path) -> Policy:
    """A preset by name, or a policy read from a .toml/.yaml/.yml file."""
    if isinstance(name_or_path, str) and name_or_path in PRESETS:
        return PRESETS[name_or_path]
    path = Path(name_or_path)
    if path.suffix.lower() in _FILE_SUFFIXES:
        return _load_file(path)
    raise OptionError(
        f"unknown policy '{name_or_path}': use one of {', '.join(available_policies())}"
        f" or a {'/'.join(_FILE_SUFFIXES)} file"
    )
