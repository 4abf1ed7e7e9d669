"""The importance map of one compress call, from its source: a mask, a label map, an array, or a segmenter
weighed by a policy; plus detected text.

Data flow::

    array | mask | label map + policy --importance.from_array / from_labels--> map (HxW) --shape-->
    segmenter + policy --importance.from_segmentation--> map at the network's working size (h x w) --shape
        (lengths scaled to it)--> resampled to HxW (the region, taken before shaping, resampled too)
    [+ detected text (segpress.text): the maximum of each source times its policy weight]
    --> Importance: the values the codec sees, the region PSNR inside is measured on, class shares

Everything that depends on the class probabilities (weights, the map rule's thresholds, class shares) is
done at the working size: at 768x512 the full-size probabilities (one resampling per class), their
argmax and shaping the full-size map took about a third of ``compress``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike

import numpy as np
from PIL import Image

from . import importance as imp
from .errors import OptionError
from .imageio import DEFAULT_MAX_PIXELS, LoadedImage, load_labels, load_mask
from .options import check_sources
from .policy import Policy, load_policy
from .segmenters import Segmentation, Segmenter, resolve_segmenter
from .taxonomy import CLASSES
from .text import TextDetection, TextDetector, default_detector

ImageSource = str | PathLike | bytes | np.ndarray | Image.Image
SegmenterSource = Segmenter | str | PathLike | None

# Pixels at or above this importance form "the important region" that PSNR-inside is measured on.
REGION_THRESHOLD = 0.5


@dataclass
class Importance:
    """An importance map and where it came from."""

    values: np.ndarray  # float32 HxW in [0, 1], after shaping: what the codec sees
    region: np.ndarray  # bool HxW: the important region as given, before margins and feathering
    source: str  # "mask", "labels", "array" or "model:<segmenter name>", with "+text" when text was added
    regions: dict[str, float] = field(default_factory=dict)  # protected class (or "text") -> share of pixels
    segmentation: Segmentation | None = None  # the segmenter's output, for source "model:..."
    text: TextDetection | None = None  # the text detector's output, when text was on ("...+text")


def wants_text(text: bool | TextDetector | TextDetection | None, policy: Policy) -> bool:
    """Whether text is used: as asked (a detector or a detection counts as yes), or (None) as the policy's
    ``[sources]`` says.

    Asking for text under a policy that weighs it 0 is an ``OptionError``: it would change nothing.
    """
    if text is None:
        return policy.text_by_default
    if text is not False and policy.source_weight("text") == 0:
        raise OptionError(f"policy '{policy.name}' weighs text 0 ([sources] text = 0): text detection would change nothing")
    return text is not False


def build_importance(
    image: LoadedImage,
    *,
    importance: np.ndarray | None = None,
    mask: ImageSource | None = None,
    labels: ImageSource | None = None,
    segmenter: SegmenterSource = None,
    segmentation: Segmentation | None = None,
    policy: str | Policy = "default",
    text: bool | TextDetector | TextDetection | None = None,
    margin: float | None = None,
    feather: float | None = None,
    min_area: float | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Importance:
    """The importance map for ``image`` from an array, a mask image, a label map, or a segmenter, plus text.

    A label map holds segpress taxonomy indices (``segpress.taxonomy.CLASSES``) and goes through
    ``policy``. Without an array, mask or label map, ``segmentation`` (of this image, made before) or
    else ``segmenter`` (None: the shipped model) gives class probabilities and the policy's map rule turns
    them into the map (``model_importance``). With ``text`` (True: the
    default :class:`~segpress.text.TextDetector`, or one given, or a detection of this image made
    before; None: as the policy's ``[sources]`` says) the detected text regions are added: the map is the maximum of each source's map times its
    policy weight (``importance.combine``). Margins, feathering and the minimum region area default to
    the policy's values.
    """
    check_sources(importance=importance, mask=mask, labels=labels, segmenter=segmenter, segmentation=segmentation)
    chosen = policy if isinstance(policy, Policy) else load_policy(policy)
    use_text = wants_text(text, chosen)
    size = (image.height, image.width)
    regions: dict[str, float] = {}
    if importance is not None:
        raw = imp.from_array(np.asarray(importance))
        if raw.shape != size:
            raise OptionError(
                f"importance array is {raw.shape[1]}x{raw.shape[0]} but the image is {image.width}x{image.height}"
            )
    elif mask is not None:
        raw = load_mask(mask, size=size, max_pixels=max_pixels)
    elif labels is not None:
        label_map = load_labels(labels, size=size, classes=len(CLASSES), max_pixels=max_pixels)
        raw = imp.from_labels(label_map, CLASSES, chosen)
        regions = imp.region_shares(label_map, CLASSES, chosen)
    else:
        if segmentation is None:
            segmentation = resolve_segmenter(segmenter).segment(image.pixels)
        elif segmentation.shape != size:
            raise OptionError(
                f"the segmentation given is for a {segmentation.width}x{segmentation.height} image, "
                f"not {image.width}x{image.height}"
            )
        # Shares at the working resolution: full-size labels would resample every class.
        regions = imp.region_shares(segmentation.working_labels, CLASSES, chosen)
    weight = chosen.source_weight("mask" if importance is not None or mask is not None else "classes")
    shaping = {"margin": chosen.margin if margin is None else margin,
               "feather": chosen.feather if feather is None else feather,
               "min_area": chosen.min_area if min_area is None else min_area}
    if segmentation is not None:
        region, shaped_map = _model_layer(segmentation, chosen, weight, shaping)
    else:
        # The region is taken before shaping, which then reuses the raw map's memory where it is ours (not
        # the caller's array): one full-size float32 map at a time, which keeps peak memory per pixel bounded.
        region = imp.reaches([(weight, raw)], REGION_THRESHOLD)
        shaped_map = imp.shape(raw, **shaping, overwrite=importance is None or not np.may_share_memory(raw, importance))
        del raw
    shaped_layers = [(weight, shaped_map)]
    detection = None
    if use_text:
        detection = text if isinstance(text, TextDetection) else (
            text if isinstance(text, TextDetector) else default_detector(chosen.text_scale)
        ).detect(image.pixels)
        if detection.regions.shape != size:
            raise OptionError(
                f"the text detection given is for a {detection.width}x{detection.height} image, "
                f"not {image.width}x{image.height}"
            )
        # Text regions are already grown to each line's full extent (the detector's unclip step), so
        # they join the map unshaped: a margin and feather around every line would raise the quality of
        # two or three times its blocks, bytes that small text needs for itself (benchmarks/text.py).
        text_layer = (chosen.source_weight("text"), detection.regions)
        region |= imp.reaches([text_layer], REGION_THRESHOLD)
        shaped_layers.append(text_layer)
        if detection.share:
            regions["text"] = detection.share
    shaped = imp.combine(shaped_layers)
    if segmentation is not None:
        source = f"model:{segmentation.model}"
    else:
        source = "array" if importance is not None else "mask" if mask is not None else "labels"
    if detection is not None:
        source += "+text"
    return Importance(
        values=shaped, region=region, source=source, regions=regions, segmentation=segmentation,
        text=detection,
    )


def model_importance(segmentation: Segmentation, policy: Policy, rule: str | None = None) -> np.ndarray:
    """The segmentation's importance under the policy's map rule (or ``rule``), at the image's size (float32):
    ``importance.from_segmentation`` at the working resolution, one map resampled (bilinearly)."""
    full = segmentation.upsample(imp.from_segmentation(segmentation, policy, rule))
    return np.clip(full, 0.0, 1.0, out=full)


def _model_layer(segmentation: Segmentation, policy: Policy, weight: float,
                 shaping: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """The class map's region (before shaping) and shaped values, at the image's size.

    Weighed and shaped at the working resolution (lengths scaled to it), then resampled twice: once for
    the region, once shaped. The full-size map is a bilinear interpolation of the working one, so shaping
    it costs more (a 768x512 picture: 4x; 6 megapixels: 40x) for a ramp on a finer grid only
    (benchmarks/compress_speed.py)."""
    working = imp.from_segmentation(segmentation, policy)
    raw = segmentation.upsample(working)
    region = imp.reaches([(weight, np.clip(raw, 0.0, 1.0, out=raw))], REGION_THRESHOLD)
    del raw  # one full-size float32 map at a time: peak memory per pixel stays bounded
    shaped = segmentation.upsample(imp.shape(working, **shaping, overwrite=True, image_size=segmentation.shape))
    return region, np.clip(shaped, 0.0, 1.0, out=shaped)
