"""Public entry points: ``compress``, ``segment`` (and the importance map they are built on:
``build_importance``, ``model_importance``, ``Importance``, from :mod:`segpress.sources`).

Data flow::

    image --imageio.load_image--> pixels (+ ICC, EXIF)
    mask | label map + policy | array | segmenter + policy [+ detected text]
        --sources.build_importance--> importance map (HxW in [0, 1], shaped) and the important region
    codec.encode(pixels, importance) --> file bytes --decode--> PSNR inside / outside the region
        (or, for a target: ratecontrol.fit_size / fit_roi_psnr --> the file, its qualities, encodes)
    [scenefloor.raise_background --> the background quality at which the network still labels the scene]
    uniform.match_uniform --> bytes a uniform encode needs for the same PSNR inside (the saving)
        --uniform.fallback_file--> that uniform file instead, when the adaptive one is not smaller
        (a size target: the uniform file of the budget, when its PSNR inside is better)
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from importlib.metadata import version as package_version
from typing import Any

import numpy as np

from . import codecs, embedded, scenefloor
from .codecs import EncodeSettings, Metadata
from .errors import OptionError
from .imageio import DEFAULT_MAX_PIXELS, LoadedImage, load_image
from .metrics import bits_per_pixel, psnr
from .options import CompressOptions
from .policy import Policy, load_policy
from .ratecontrol import (
    SIZE_TOLERANCE,
    RateResult,
    decode_like,
    fit_roi_psnr,
    fit_size,
    format_size,
)
from .segmenters import Segmentation, resolve_segmenter
from .sources import (  # the importance map's sources, part of this API
    REGION_THRESHOLD,
    ImageSource,
    Importance,
    SegmenterSource,
    build_importance,
    model_importance,
    wants_text,
)
from .text import TextDetection, TextDetector, default_detector
from .uniform import UniformMatch, fallback_file, match_uniform

__all__ = [
    "REGION_THRESHOLD", "CompressResult", "ImageSource", "Importance", "SegmenterSource", "build_importance",
    "compress", "detect_text", "model_importance", "segment", "wants_text",
]


# How to keep the region-adaptive file, in the fallback's note (in CLI words; the server's page shows its own).
FALLBACK_HINT = "--no-fallback keeps the adaptive file"

@dataclass
class CompressResult:
    """The encoded file and what it cost and kept. ``data`` is a complete file in ``format``."""

    data: bytes = field(repr=False)
    format: str
    width: int
    height: int
    roi_quality: float  # as given, or as rate control chose (fractional where the codec takes fractions)
    bg_quality: float
    important_fraction: float
    psnr_inside: float
    psnr_outside: float
    encode_seconds: float
    source: str
    segment_seconds: float | None = None  # time the segmenter took (source "model:..."), not in encode_seconds
    text_seconds: float | None = None  # time the text detector took (source "...+text"), not in encode_seconds
    uniform_size: float | None = None
    uniform_quality: float | None = None
    uniform_reached: bool | None = None
    uniform_reference: str | None = None
    # With compare: the same match against each other plain encoder of the format a user could pick
    # (JPEG: libjpeg-turbo beside jpegli): name -> {"size", "quality", "reached", "saving"}.
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Rate control (``target_size`` / ``target_roi_psnr``); all None without a target.
    target: int | float | None = None  # bytes for a size target, dB for a PSNR target
    target_kind: str | None = None  # "size" or "roi_psnr"
    rate_encodes: int | None = None  # encodes the search took (at most ratecontrol.MAX_ENCODES)
    rate_reached: bool | None = None  # within 3 % under the size / 0.1 dB over the PSNR (or adjacent qualities)
    rate_note: str | None = None  # why not, when not reached
    # The fallback (``CompressOptions.fallback``): True when the uniform file was written because the
    # region-adaptive one was not smaller at the same PSNR inside (or, for a size target, had the worse
    # PSNR inside at that size); False when checked and the adaptive file was kept; None when not checked.
    fallback: bool | None = None
    adaptive_size: int | None = None  # the region-adaptive file's bytes, when the uniform one replaced it
    adaptive_psnr_inside: float | None = None  # and its PSNR inside
    # The scene floor (``CompressOptions.scene_fidelity``, or the policy's); all None when off. Measured on
    # the region-adaptive file (a uniform file the fallback wrote instead has the better background).
    scene_fidelity: float | None = None  # the share of the original's confident labels asked for
    scene_agreement: float | None = None  # the share kept
    scene_bg_quality: float | None = None  # the background quality the floor chose
    scene_seconds: float | None = None  # its encodes, decodes and segmentations, not in encode_seconds
    notes: list[str] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def bpp(self) -> float:
        return bits_per_pixel(self.size, self.height, self.width)

    @property
    def saving(self) -> float | None:
        """Fraction of the uniform encode's bytes saved (0.6 = 60 % smaller), or None if not compared."""
        if self.uniform_size is None:
            return None
        return 1.0 - self.size / self.uniform_size

    def summary(self) -> dict[str, Any]:
        """Every figure as plain JSON-friendly values (no bytes); a NaN or infinite figure is None.

        (PSNR is NaN over an empty region and infinite for identical pixels: neither is valid JSON.)
        """
        values = {k: v for k, v in asdict(self).items() if k != "data"}
        values.update(size=self.size, bpp=self.bpp, saving=self.saving)
        return {k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in values.items()}


def segment(
    image: ImageSource, segmenter: SegmenterSource = None, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Segmentation:
    """Class probabilities and labels over ``segpress.taxonomy.CLASSES`` for ``image``.

    Args:
        image: a path, encoded bytes, a uint8 array (HxW or HxWx3/4) or a PIL image.
        segmenter: None for the shipped model, a :class:`~segpress.segmenters.Segmenter`, or the path
            of a user model config (TOML/YAML) or of an exported ``.onnx``.
    Returns:
        a :class:`~segpress.segmenters.Segmentation`: ``labels`` (H, W) uint8, ``probabilities``
        (C, H, W) float32 at the image's size (both made when first read), ``working_probabilities`` and
        ``working_labels`` at the network's working size, ``shares()``, ``seconds``.
    """
    chosen = resolve_segmenter(segmenter)
    return chosen.segment(load_image(image, max_pixels=max_pixels).pixels)


def detect_text(image: ImageSource, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> TextDetection:
    """Where ``image`` holds text: the shipped text detector, see :mod:`segpress.text`.

    Returns a :class:`~segpress.text.TextDetection`: ``regions`` (H, W) bool, ``probability`` (H, W),
    ``boxes`` in image pixels, ``share``, ``seconds``.
    """
    return default_detector().detect(load_image(image, max_pixels=max_pixels).pixels)


def compress(
    image: ImageSource,
    *,
    importance: np.ndarray | None = None,
    mask: ImageSource | None = None,
    labels: ImageSource | None = None,
    segmenter: SegmenterSource = None,
    segmentation: Segmentation | None = None,
    policy: str | Policy = "default",
    text: bool | TextDetector | TextDetection | None = None,
    options: CompressOptions | None = None,
    **changes: Any,
) -> CompressResult:
    """Compress ``image`` spending bytes where it matters.

    What matters comes from ``importance`` / ``mask`` / ``labels`` if one is given, otherwise from a
    segmentation model (``segmenter``) weighed by ``policy``.

    Args:
        image: a path, encoded bytes, a uint8 array (HxW or HxWx3/4) or a PIL image.
        importance: float array in [0, 1] at image size (or bool / uint8), used as given.
        mask: a mask image (1-bit, 8-bit grey, or the alpha channel) at image size.
        labels: a label map in segpress taxonomy indices, weighted by ``policy``.
        segmenter: used when none of the three is given: None for the shipped model, a
            :class:`~segpress.segmenters.Segmenter`, or a user model config path (TOML/YAML).
        segmentation: a :class:`~segpress.segmenters.Segmentation` of this image made before (by
            ``segment``), used instead of running a segmenter again.
        text: add detected text (the shipped detector, :mod:`segpress.text`; True for the default
            :class:`~segpress.text.TextDetector`, or one of your own settings, or a
            :class:`~segpress.text.TextDetection` of this image made before) to the importance, with
            the policy's ``text`` weight; None: only if the policy's ``[sources]`` lists text.
        options: how to encode (:class:`~segpress.options.CompressOptions`, checked when made); and
            ``changes``: any of its fields as keywords, over ``options`` or the defaults. Its fields:
        format: a codec name (``segpress.codecs.available_names()``).
        roi_quality, bg_quality: quality (1..100) for importance 1 and importance 0; with a target,
            where the search starts (the qualities it chose are in the result).
        target_size: a byte budget (``40000``, ``"40KB"``, ``"1.5MB"``, ``"40KiB"``): the file with the
            best important region that is at most this big, within 3 % under it where the codec's
            quality grid allows (``ratecontrol.fit_size``). Never over it: a budget below the smallest
            file the image can make raises ``OptionError``; a miss of the 3 % window is reported in
            ``rate_reached`` / ``rate_note``. Metadata (ICC, EXIF, the map) counts towards it.
        target_roi_psnr: a PSNR (dB) inside the important region: the smallest file that reaches it
            at background quality ``bg_quality`` (``ratecontrol.fit_roi_psnr``). ``OptionError`` when
            quality 100 does not reach it or there is no important region.
        strip: drop ICC profile and EXIF (kept by default).
        keep_map: embed the downscaled importance map so ``segpress inspect`` can show it.
        compare: also find the uniform encode with the same PSNR inside (costs a few encodes).
        effort: the encoder's speed/effort, 1 (fastest) .. 9 (smallest); None: each encoder's default
            (WebP method, AVIF speed and JPEG XL effort; JPEG, jxl and JPEG 2000 have none to change).
        fallback: when that uniform encode is smaller than the adaptive file (a size target: when the
            uniform file of the budget has the better PSNR inside), return the uniform file instead
            (``fallback`` True and a note in the result). Needs ``compare``: without it nothing is checked.
        scene_fidelity: the scene floor (:mod:`segpress.scenefloor`): the background quality rises until
            the segmenter (None: the shipped model) labels at least this share of the original's
            confidently labelled pixels the same on the decoded file; 0: off; None: the policy's, for
            a map a segmenter made. With ``target_size`` the budget comes first: only measured, and a
            note says when the floor is not met. Before the fallback, which still applies.
    Returns:
        CompressResult with the file bytes and its statistics (``encode_seconds``: every encode of a
        rate-control search together).
    """
    chosen_options = CompressOptions.of(options, **changes)
    policy = policy if isinstance(policy, Policy) else load_policy(policy)
    target_bytes, target_psnr = chosen_options.target_size, chosen_options.target_roi_psnr
    settings = chosen_options.encode_settings()
    codec = codecs.get(chosen_options.format)
    max_pixels = chosen_options.max_pixels
    loaded = load_image(image, max_pixels=max_pixels)
    chosen = build_importance(
        loaded, importance=importance, mask=mask, labels=labels, segmenter=segmenter, segmentation=segmentation,
        policy=policy, text=text, margin=chosen_options.margin, feather=chosen_options.feather,
        min_area=chosen_options.min_area, max_pixels=max_pixels,
    )
    strip, keep_map = chosen_options.strip, chosen_options.keep_map
    base_metadata = Metadata() if strip else Metadata(icc_profile=loaded.icc_profile, exif=loaded.exif)
    target_text = _target_text(target_bytes, target_psnr)

    def with_map(chosen_settings: EncodeSettings) -> Metadata:
        if not keep_map:
            return base_metadata
        info = _map_info(codec.name, chosen_settings, chosen, loaded, target_text)
        return Metadata(base_metadata.icc_profile, base_metadata.exif, embedded.pack(chosen.values, info))

    started = time.perf_counter()
    rate = None
    if target_bytes is None and target_psnr is None:
        data = codec.encode(loaded.pixels, chosen.values, settings, with_map(settings))
    else:
        rate = _fit(codec, loaded.pixels, chosen, target_bytes, target_psnr, settings, with_map(settings))
        data, settings = rate.data, rate.settings
        if keep_map:
            data = _remap(codec, loaded.pixels, chosen.values, rate, with_map(settings), target_bytes)
    seconds = time.perf_counter() - started
    floor = None
    threshold = _scene_threshold(chosen_options.scene_fidelity, policy, chosen)
    if threshold:
        floor = _scene_floor(codec, loaded.pixels, chosen, segmenter, settings, data, threshold, with_map,
                             within_budget=target_bytes is not None)
        start_bg, data, settings = settings.bg_quality, floor.data, floor.settings

    decoded = decode_like(codec, data, loaded.pixels)
    result = CompressResult(
        data=data,
        format=codec.name,
        width=loaded.width,
        height=loaded.height,
        roi_quality=settings.roi_quality,
        bg_quality=settings.bg_quality,
        important_fraction=float(chosen.region.mean()),
        psnr_inside=psnr(loaded.pixels, decoded, chosen.region),
        psnr_outside=psnr(loaded.pixels, decoded, ~chosen.region),
        encode_seconds=seconds,
        source=chosen.source,
        segment_seconds=None if chosen.segmentation is None else chosen.segmentation.seconds,
        text_seconds=None if chosen.text is None else chosen.text.seconds,
        notes=list(loaded.notes) + codec.notes(loaded.pixels, settings),
    )
    if floor is not None:
        _describe_floor(result, floor, start_bg, target_bytes is not None)
    if rate is not None:
        result.target = target_bytes if target_bytes is not None else target_psnr
        result.target_kind = "size" if target_bytes is not None else "roi_psnr"
        result.rate_encodes = rate.encodes
        result.rate_reached = rate.reached
        result.rate_note = rate.note or None
    if chosen_options.compare and chosen.region.any():
        # The reference carries the same ICC/EXIF (and map, with keep_map): metadata does not count as a saving.
        drafts = codec.uniform_drafts(loaded.pixels, settings)
        match = match_uniform(codec, loaded.pixels, chosen.region, result.psnr_inside, settings, with_map(settings),
                              draft=drafts.get(None))
        _set_uniform(result, codec, match)
        if chosen_options.fallback:
            started = time.perf_counter()
            uniform = fallback_file(codec, loaded.pixels, chosen.region, result.size, result.psnr_inside, match,
                                    target_bytes, settings, with_map(settings))
            result.fallback = uniform is not None
            if uniform is not None:
                _use_uniform(result, codec, loaded, chosen.region, uniform, target_bytes, settings, base_metadata,
                             with_map)
            result.encode_seconds += time.perf_counter() - started
        # The other plain encoders of the format, against the file handed out.
        for name, encode in codec.uniform_baselines(loaded.pixels, settings).items():
            other = match_uniform(codec, loaded.pixels, chosen.region, result.psnr_inside, settings,
                                  with_map(settings), encode, drafts.get(name))
            result.baselines[name] = {"size": other.size, "quality": other.quality, "reached": other.reached,
                                      "saving": 1.0 - result.size / other.size}
    return result


def _scene_threshold(asked: float | None, policy: Policy, chosen: Importance) -> float:
    """The scene floor in force: as asked, else the policy's for a map a segmenter made; 0 is off."""
    if asked is not None:
        return asked
    return policy.scene_fidelity if chosen.segmentation is not None else 0.0


def _scene_floor(codec: codecs.Codec, pixels: np.ndarray, chosen: Importance, segmenter: SegmenterSource,
                 settings: EncodeSettings, data: bytes, threshold: float, with_map: Any,
                 within_budget: bool) -> scenefloor.SceneFloor:
    """The floor with the segmenter that made the map (or the shipped one), its segmentation reused.

    Under a byte budget the background is not raised (the file would outgrow it): only measured."""
    network = resolve_segmenter(segmenter)
    original = chosen.segmentation
    if original is None or original.model != network.name:
        original = network.segment(pixels)
    return scenefloor.raise_background(
        codec, pixels, chosen.values, settings, threshold=threshold, metadata=with_map, first=data,
        segment=lambda decoded: network.segment(decoded).working_labels,
        reference=scenefloor.reference_labels(original),
        ceiling=settings.bg_quality if within_budget else None,
    )


def _describe_floor(result: CompressResult, floor: scenefloor.SceneFloor, start_bg: float, within_budget: bool) -> None:
    result.scene_fidelity, result.scene_agreement = floor.threshold, floor.agreement
    result.scene_bg_quality, result.scene_seconds = floor.settings.bg_quality, floor.seconds
    kept = f"the network keeps {100 * floor.agreement:.1f} % of the original's confident labels"
    if floor.reached and floor.settings.bg_quality != start_bg:
        result.notes.append(f"scene floor {floor.threshold:g}: background quality raised from {start_bg:g} to "
                            f"{floor.settings.bg_quality:g} ({kept})")
    elif not floor.reached and within_budget:
        result.notes.append(f"scene floor {floor.threshold:g} not met within the byte budget: {kept} "
                            "(a larger --target-size keeps more of the scene)")
    elif not floor.reached:
        result.notes.append(f"scene floor {floor.threshold:g} not met even with the background at the roi "
                            f"quality {floor.settings.bg_quality:g}: {kept}")


def _set_uniform(result: CompressResult, codec: codecs.Codec, match: UniformMatch) -> None:
    result.uniform_size = match.size
    result.uniform_quality = match.quality
    result.uniform_reached = match.reached
    result.uniform_reference = codec.uniform_reference


def _use_uniform(result: CompressResult, codec: codecs.Codec, loaded: LoadedImage, region: np.ndarray,
                 uniform: tuple[bytes, int], target_bytes: int | None, settings: EncodeSettings,
                 metadata: Metadata, with_map: Any) -> None:
    """``result`` now describes the uniform file: its bytes, qualities and PSNRs; its saving is 0 (it is
    its own uniform reference) and a note says what was replaced."""
    data, quality = uniform
    uniform_settings = replace(settings, roi_quality=quality, bg_quality=quality)
    mapped = with_map(uniform_settings)
    if mapped is not metadata:  # --keep-map: the same pixels, the map describing the uniform qualities
        described = codec.encode_uniform(loaded.pixels, quality, settings, mapped)
        if len(described) <= (result.size if target_bytes is None else target_bytes):
            data = described
    if target_bytes is None:
        why = (f"the region-adaptive file ({result.size:,} B) was "
               f"{100 * (result.size / (result.uniform_size or 1) - 1):.1f} % larger than a uniform encode with "
               f"its PSNR inside ({result.psnr_inside:.2f} dB)")
    decoded = decode_like(codec, data, loaded.pixels)
    result.adaptive_size, result.adaptive_psnr_inside = result.size, result.psnr_inside
    result.data = data
    result.roi_quality = result.bg_quality = float(quality)
    result.psnr_inside = psnr(loaded.pixels, decoded, region)
    result.psnr_outside = psnr(loaded.pixels, decoded, ~region)
    result.uniform_size, result.uniform_quality, result.uniform_reached = float(len(data)), float(quality), True
    if result.target_kind is not None:
        _describe_rate(result, quality, target_bytes)
    if target_bytes is not None:
        why = (f"within the budget the region-adaptive file had {result.adaptive_psnr_inside:.2f} dB inside, "
               f"this one {result.psnr_inside:.2f} dB")
    result.notes.append(f"uniform {codec.name} quality {quality} written: {why} ({FALLBACK_HINT})")


def _describe_rate(result: CompressResult, quality: int, target_bytes: int | None) -> None:
    """The rate figures of a uniform file that replaced the one rate control chose."""
    if target_bytes is not None:  # the highest whole quality within the budget
        result.rate_reached = result.size >= (1 - SIZE_TOLERANCE) * target_bytes
        why = "uniform quality 100 makes no bigger file" if quality >= 100 else f"uniform quality {quality + 1} is over it"
        under = 100 * (1 - result.size / target_bytes)
        result.rate_note = None if result.rate_reached else f"{format_size(result.size)}, {under:.1f} % under the target: {why}"
    else:  # it reaches the adaptive file's PSNR inside, so the target too if that did
        result.rate_reached = bool(result.target is not None and result.psnr_inside >= result.target)
        result.rate_note = None if result.rate_reached else result.rate_note


def _fit(codec: codecs.Codec, pixels: np.ndarray, chosen: Importance, target_bytes: int | None,
         target_psnr: float | None, settings: EncodeSettings, metadata: Metadata) -> RateResult:
    """The rate-control search for the one target given."""
    if target_bytes is not None:
        rate = fit_size(codec, pixels, chosen.values, chosen.region, target_bytes, settings, metadata)
        if rate.size > target_bytes:  # fit_size guarantees this never happens; never hand such a file out
            raise OptionError(f"rate control gave {format_size(rate.size)}, over the {format_size(target_bytes)} target")
        return rate
    return fit_roi_psnr(codec, pixels, chosen.values, chosen.region, target_psnr, settings, metadata)


def _remap(codec: codecs.Codec, pixels: np.ndarray, importance: np.ndarray, rate: RateResult,
           metadata: Metadata, target_bytes: int | None) -> bytes:
    """The chosen file again, its embedded map now naming the qualities the search chose.

    The search ran with the starting qualities in the map's description; the pixels coded are the
    same, only the description's few bytes differ. If that makes the file bigger than a size target,
    the searched file (whose map names the starting qualities and the target) is kept.
    """
    data = codec.encode(pixels, importance, rate.settings, metadata)
    return rate.data if target_bytes is not None and len(data) > target_bytes else data


def _target_text(target_bytes: int | None, target_psnr: float | None) -> str | None:
    if target_bytes is not None:
        return f"{target_bytes} B"
    if target_psnr is not None:
        return f"{target_psnr:g} dB inside"
    return None


def _map_info(format: str, settings: EncodeSettings, chosen: Importance, image: LoadedImage,
              target: str | None = None) -> dict[str, Any]:
    info = {
        "segpress": package_version("segpress"),
        "format": format,
        "width": image.width,
        "height": image.height,
        "roi_quality": settings.roi_quality,
        "bg_quality": settings.bg_quality,
        "source": chosen.source,
        "important_fraction": round(float(chosen.region.mean()), 4),
        "regions": {name: round(share, 4) for name, share in chosen.regions.items()},
    }
    if target is not None:
        info["target"] = target
    return info
