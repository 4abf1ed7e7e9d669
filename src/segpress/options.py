"""The compress options, defined once: :class:`CompressOptions`, its fields' defaults, help and checks.

Every front end is made from these fields, so an option added here appears everywhere
(tests/test_options.py walks each field through all of them):

    CompressOptions ─┬─ segpress.api.compress(**fields)                  (the Python API)
                     ├─ segpress.cli.typer_options → compress, batch     (Typer options, --help from "help")
                     ├─ segpress.batch.settings.JobSettings              (what a re-run's fingerprint hashes)
                     └─ segpress.server.schemas.CompressOptions          (the form and JSON fields, from "doc")

What decides the importance (a mask, a label map, a segmenter, the policy, text) is not an option of
the encode: each front end takes it its own way, under the one rule of :func:`check_sources`.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field
from typing import Any

from .codecs import get as get_codec
from .codecs.base import (
    DEFAULT_BG_QUALITY,
    DEFAULT_ROI_QUALITY,
    DEFAULT_SUBSAMPLING,
    EFFORT_RANGE,
    SUBSAMPLINGS,
    EncodeSettings,
)
from .errors import OptionError
from .imageio import DEFAULT_MAX_PIXELS
from .ratecontrol import parse_size

QUALITY_RANGE = (1, 100)
# Where segpress batch's defaults differ: nowhere at present. (It used to skip the uniform comparison, 2-4
# extra encodes per image, but the fallback to the uniform file needs it: --no-compare opts out.)
BATCH_DEFAULTS: dict[str, Any] = {}
_LENGTH_DOC = "pixels (>= 1) or a fraction of the longer side (< 1)"


def _option(default: Any, help: str, *, doc: str | None = None, server: bool = True, **more: Any) -> Any:
    """A field with its front-end metadata.

    help: the CLI's --help line; doc: the server's description (default: help); server: False for an
    option the server sets itself. More keys: flag (the CLI's declaration, "--a/--b"), cli_type (what
    the CLI reads, when not the field's type), length (the CLI reads "8" or "2%"), choices, bounds
    (ge/le/gt, for the server's schema; the checks themselves are in ``__post_init__``).
    """
    return field(default=default, metadata={"help": help, "doc": doc or help, "server": server, **more})


@dataclass(frozen=True)
class CompressOptions:
    """How to encode: checked when made (``OptionError`` names the first bad value), then normalised
    (the codec's own name, ``target_size`` in bytes, qualities as int)."""

    format: str = _option(
        "jpeg", "A codec name (`segpress formats` lists them).", doc="A codec name from /api/v1/formats.",
        flag=("--format", "-f"),
    )
    roi_quality: int = _option(
        DEFAULT_ROI_QUALITY, "Quality (1-100) where importance is 1.", doc="Quality where importance is 1.",
        bounds={"ge": QUALITY_RANGE[0], "le": QUALITY_RANGE[1]},
    )
    bg_quality: int = _option(
        DEFAULT_BG_QUALITY, "Quality (1-100) where importance is 0.", doc="Quality where importance is 0.",
        bounds={"ge": QUALITY_RANGE[0], "le": QUALITY_RANGE[1]},
    )
    target_size: int | str | None = _option(
        None,
        "Byte budget per file (40000, 40KB, 1.5MB, 40KiB): the best important region that fits, never over, "
        "within 3 % under where possible.",
        doc="A byte budget (40000, 40KB, 1.5MB, 40KiB): the best important region that fits.",
        cli_type=str,
    )
    target_roi_psnr: float | None = _option(
        None, "PSNR (dB) inside the important region: the smallest file that reaches it, at --bg-quality.",
        doc="PSNR (dB) to reach inside the important region.", bounds={"gt": 0},
    )
    progressive: bool = _option(
        True, "Progressive (smaller) or baseline JPEG.", flag="--progressive/--baseline",
    )
    subsampling: str = _option(
        DEFAULT_SUBSAMPLING, f"Chroma subsampling: {' or '.join(SUBSAMPLINGS)}.", choices=SUBSAMPLINGS,
    )
    effort: int | None = _option(
        None,
        "Encoder effort 1 (fastest) to 9 (smallest, slowest): WebP method, AVIF speed, JPEG XL effort "
        "(jxl-pixels); no effect on JPEG, jxl (a lossless transcode) and JPEG 2000. Default: each encoder's "
        "own (7 on this scale). AVIF at 9 takes several times as long as at 7.",
        doc="Encoder effort 1 (fastest) to 9 (smallest): WebP method, AVIF speed, JPEG XL effort; none: each encoder's default.",
        bounds={"ge": EFFORT_RANGE[0], "le": EFFORT_RANGE[1]},
    )
    margin: float | None = _option(
        None, "Grow important regions: pixels (8) or % of the image (2%).",
        doc=f"Grow important regions: {_LENGTH_DOC}.", length=True, bounds={"ge": 0},
    )
    feather: float | None = _option(
        None, "Soft edge width: pixels or %.", doc=f"Soft edge width: {_LENGTH_DOC}.", length=True, bounds={"ge": 0},
    )
    min_area: float | None = _option(
        None, "Drop important regions smaller than this: pixels or % of the area.",
        doc="Drop smaller important regions: pixels or a fraction of the area.", length=True, bounds={"ge": 0},
    )
    strip: bool = _option(False, "Remove ICC profile and EXIF.", doc="Drop the ICC profile and EXIF.")
    keep_map: bool = _option(False, "Embed the importance map (see `segpress inspect`).")
    compare: bool = _option(
        True, "Measure the uniform encode with the same PSNR inside (--no-compare: no saving, no fallback check).",
        flag="--compare/--no-compare",
        doc="Also find the uniform encode with the same PSNR inside (the saving); needed by the fallback.",
    )
    fallback: bool = _option(
        True,
        "Write the uniform file when it is smaller at the same PSNR inside (with --target-size: better inside "
        "at the budget); --no-fallback keeps the region-adaptive file. Checked with --compare only.",
        flag="--fallback/--no-fallback",
        doc="Return the uniform file when the region-adaptive one is not smaller at the same PSNR inside "
            "(a size target: when the uniform file of the budget is better inside); needs compare.",
    )
    scene_fidelity: float | None = _option(
        None,
        "Scene floor: raise the background quality until the segmentation network labels at least this "
        "share (0-1, e.g. 0.95) of the confidently labelled pixels of the decoded file as in the original; "
        "0: off. Default: the policy's (off in the presets: at 0.95 it cost +3-6 % bytes in JPEG, +14-26 % "
        "in WebP and AVIF, and time). Under --target-size the budget comes first (a note says when the floor "
        "is not met).",
        doc="Scene floor: the share (0-1) of the original's confident labels the decoded file must keep, the "
            "background quality raised until it does; 0: off; none: the policy's.",
        bounds={"ge": 0, "le": 1},
    )
    # The server has its own pixel limit (segpress serve --max-pixels), not one per request.
    max_pixels: int = _option(
        DEFAULT_MAX_PIXELS, "Refuse images with more pixels (decompression bombs).", server=False,
    )

    def __post_init__(self) -> None:
        target_size, target_roi_psnr = check_targets(self.target_size, self.target_roi_psnr)
        for name, value in (("roi quality", self.roi_quality), ("background quality", self.bg_quality)):
            if not QUALITY_RANGE[0] <= int(value) <= QUALITY_RANGE[1]:
                raise OptionError(f"{name} must be within {QUALITY_RANGE[0]}..{QUALITY_RANGE[1]}, got {value}")
        if self.bg_quality > self.roi_quality:
            raise OptionError(f"background quality {self.bg_quality} is above roi quality {self.roi_quality}")
        if self.subsampling not in SUBSAMPLINGS:
            raise OptionError(f"unknown chroma subsampling {self.subsampling!r}; choose {' or '.join(SUBSAMPLINGS)}")
        if self.effort is not None and (isinstance(self.effort, bool) or not isinstance(self.effort, numbers.Integral)
                                        or not EFFORT_RANGE[0] <= self.effort <= EFFORT_RANGE[1]):
            raise OptionError(f"effort must be a whole number within {EFFORT_RANGE[0]}..{EFFORT_RANGE[1]}, got {self.effort!r}")
        for name in ("margin", "feather", "min_area"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise OptionError(f"{name} must be a non-negative length, got {value!r}")
        check_max_pixels(self.max_pixels)
        check_scene_fidelity(self.scene_fidelity)
        normal = {
            "format": get_codec(self.format).name, "roi_quality": int(self.roi_quality),
            "bg_quality": int(self.bg_quality), "target_size": target_size, "target_roi_psnr": target_roi_psnr,
            "progressive": bool(self.progressive), "strip": bool(self.strip), "keep_map": bool(self.keep_map),
            "compare": bool(self.compare), "fallback": bool(self.fallback), "max_pixels": int(self.max_pixels),
            "effort": None if self.effort is None else int(self.effort),
            "scene_fidelity": None if self.scene_fidelity is None else float(self.scene_fidelity),
        }
        for name, value in normal.items():
            object.__setattr__(self, name, value)  # frozen: normalised once, here

    @classmethod
    def of(cls, options: CompressOptions | None = None, **changes: Any) -> CompressOptions:
        """``options`` (default: the defaults) with ``changes``, checked; a TypeError names an unknown one."""
        return cls(**changes) if options is None else dataclasses.replace(options, **changes)

    @property
    def rate_control(self) -> bool:
        return self.target_size is not None or self.target_roi_psnr is not None

    def encode_settings(self) -> EncodeSettings:
        return EncodeSettings(self.roi_quality, self.bg_quality, self.progressive, self.subsampling, self.effort)


def check_targets(target_size: int | str | None, target_roi_psnr: float | None) -> tuple[int | None, float | None]:
    """(bytes, dB) of the rate-control target, checked; ``OptionError`` for both or a malformed one."""
    if target_size is not None and target_roi_psnr is not None:
        raise OptionError("give one target: a size or a PSNR inside the region, not both")
    target_bytes = None if target_size is None else parse_size(target_size)
    if target_roi_psnr is not None:
        if isinstance(target_roi_psnr, bool) or not isinstance(target_roi_psnr, numbers.Real):
            raise OptionError(f"target PSNR must be a number of dB, got {target_roi_psnr!r}")
        if not (math.isfinite(target_roi_psnr) and target_roi_psnr > 0):
            raise OptionError(f"target PSNR must be a positive number of dB, got {target_roi_psnr}")
        target_roi_psnr = float(target_roi_psnr)
    return target_bytes, target_roi_psnr


def check_scene_fidelity(value: float | None) -> None:
    """A scene floor is None (the policy's), 0 (off) or a share of pixels up to 1."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (math.isfinite(value) and 0 <= value <= 1):
        raise OptionError(f"scene fidelity must be a share of pixels within 0..1 (0: off), got {value!r}")


def check_max_pixels(max_pixels: int) -> None:
    """The pixel limit of every command that reads images."""
    if max_pixels < 1:
        raise OptionError(f"--max-pixels must be at least 1, got {max_pixels}")


def check_sources(
    *, importance: Any = None, mask: Any = None, labels: Any = None, segmenter: Any = None,
    segmentation: Any = None, command_line: bool = False,
) -> None:
    """The one-importance-source rule: at most one of an importance array, a mask and a label map, and
    a segmenter (or a segmentation made before) only without any. ``command_line``: worded with the
    options of ``segpress compress`` and ``segpress batch``."""
    given = [name for name, value in (("importance", importance), ("mask", mask), ("labels", labels)) if value is not None]
    model = [name for name, value in (("segmenter", segmenter), ("segmentation", segmentation)) if value is not None]
    if len(given) > 1:
        raise OptionError("give one importance source: --mask or --labels, not both" if command_line
                          else f"give one importance source, not {' and '.join(given)}")
    if given and model:
        raise OptionError("--segmenter is used only without --mask and --labels" if command_line
                          else f"a {model[0]} is used only without an importance source; {given[0]} was given too")
    if len(model) > 1:
        raise OptionError("give a segmenter or a segmentation made before, not both")


def parse_length(text: str | None, option: str) -> float | None:
    """``"8"`` or ``"8px"`` -> 8 pixels; ``"2%"`` -> 0.02 (a fraction of the image size).

    The API reads values >= 1 as pixels and values in (0, 1) as fractions, so a percentage must stay
    below 100% and a pixel count must be 0 or at least 1, or the value would change meaning.
    """
    if text is None:
        return None
    value = text.strip().lower()
    percent = value.endswith("%")
    try:
        number = float(value[:-1] if percent else value.removesuffix("px"))
    except ValueError:
        raise OptionError(
            f"{option}: cannot read length {text!r}: give pixels (12 or 12px) or a percentage (2%)"
        ) from None
    if not math.isfinite(number) or number < 0:
        raise OptionError(f"{option} must be a non-negative length, got {text!r}")
    if percent:
        if number >= 100:
            raise OptionError(f"{option} {text!r}: a percentage must be below 100%")
        return number / 100.0
    if 0 < number < 1:
        raise OptionError(f"{option} {text!r}: give 0 or at least 1 pixel, or a percentage")
    return number
