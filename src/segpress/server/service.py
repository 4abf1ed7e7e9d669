"""The work behind the routes, plain blocking functions that the routes run on the work pool.

    upload bytes ─ segment_upload ─ StoredImage (network run once per distinct upload)
    StoredImage + options ─ policy_for ─ Policy ─ api.compress(segmentation=the kept one) ─ CompressResult
    StoredImage ─ original_png / labels_png / overlay_png (made once each, kept with the image)
"""

from __future__ import annotations

import base64
import dataclasses
import io
import re
import warnings
from pathlib import PurePath
from typing import Any

from PIL import Image

from .. import api, codecs
from ..errors import OptionError
from ..imageio import load_image
from ..importance import region_shares
from ..policy import Policy, available_policies, load_policy
from ..segmenters import Segmenter, render
from ..taxonomy import CLASSES
from ..text import TextDetection, default_detector
from .schemas import SERVED_OPTIONS, CompressOptions
from .store import ImageStore, StoredImage, image_id

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def segment_upload(store: ImageStore, segmenter: Segmenter, data: bytes, name: str, max_pixels: int) -> StoredImage:
    """The stored image for ``data``: from the store when this upload was seen, else decoded and segmented."""
    key = image_id(data)
    found = store.get(key)
    if found is not None:
        return found
    loaded = load_image(data, max_pixels=max_pixels, name=name)
    segmentation = segmenter.segment(loaded.pixels)
    shares = segmentation.shares()  # builds the full-size labels now, on this worker
    stored = StoredImage(key, name, data, segmentation, shares, list(loaded.notes))
    return store.put(stored)


def upload_pixels(data: bytes, max_pixels: int) -> int:
    """The pixel count an upload's header declares (at most ``max_pixels``: more is refused when it is
    decoded), to size its job before any decoding; 0 when the header cannot be read (the job then fails
    at once on it)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's decompression-bomb warning: the decoder checks the size
            with Image.open(io.BytesIO(data)) as image:
                return min(image.width * image.height, max_pixels)
    except Exception:  # noqa: BLE001 - Pillow raises assorted types on bad headers; decoding says what is wrong
        return 0


def compress_kind(options: Any) -> str:
    """The kind of a compress job for the work pool (which learns each kind's time): its format, and
    whether a comparison or a target adds encodes."""
    kind = f"compress:{str(options.format).lower()}"
    if options.target_size is not None or options.target_roi_psnr is not None:
        kind += "+target"
    return kind + ("+compare" if options.compare else "")


def policy_for(options: CompressOptions) -> Policy:
    """The preset named in ``options`` with its class weights and default replaced as asked."""
    if options.policy not in available_policies():
        raise OptionError(f"unknown policy {options.policy!r}; presets: {', '.join(available_policies())}")
    preset = load_policy(options.policy)
    if not options.weights and options.default_weight is None:
        return preset
    return dataclasses.replace(  # the preset's shaping (margins, feathering...) stays
        preset,
        name=f"{preset.name} (adjusted)",
        weights={**preset.weights, **(options.weights or {})},
        default=preset.default if options.default_weight is None else options.default_weight,
    )


def every_weight(policy: Policy) -> dict[str, float]:
    """Each taxonomy class's importance under ``policy`` (the default filled in)."""
    return {name: float(policy.weights.get(name, policy.default)) for name in CLASSES}


def compress_stored(image: StoredImage, options: CompressOptions, max_pixels: int) -> tuple[api.CompressResult, Policy]:
    """``api.compress`` on the stored upload with its kept segmentation: no network run."""
    policy = policy_for(options)
    settings = {name: getattr(options, name) for name in SERVED_OPTIONS}
    # A policy with text (the text preset) detects it once per upload, as the model segments once.
    text = image.text(lambda stored: detect_text(stored, policy.text_scale)) if api.wants_text(None, policy) else None
    result = api.compress(
        load_image(image.data, max_pixels=max_pixels, name=image.name), segmentation=image.segmentation,
        policy=policy, text=text, max_pixels=max_pixels, **settings,
    )
    return result, policy


def detect_text(image: StoredImage, scale: float | None = None) -> TextDetection:
    """Text in the upload, at ``scale`` (None: the detector's default)."""
    return default_detector(scale).detect(load_image(image.data, max_pixels=image.width * image.height).pixels)


def compress_payload(image: StoredImage, options: CompressOptions, max_pixels: int, *, preview: bool,
                     name: str | None = None) -> dict[str, Any]:
    """A CompressResponse as a dict: the figures, the file in base64 and, if asked, a PNG of it."""
    result, policy = compress_stored(image, options, max_pixels)
    return response_fields(image, result, policy, preview=preview, name=name)


def response_fields(image: StoredImage, result: api.CompressResult, policy: Policy, *, preview: bool,
                    name: str | None = None) -> dict[str, Any]:
    """The CompressResponse fields; ``name``: the upload's name in this request (default: the first's)."""
    codec = codecs.get(result.format)
    shown = None
    if preview:
        shown = base64.b64encode(_png(codec.decode(result.data))).decode("ascii")
    return {
        "image_id": image.id,
        "filename": download_name(name or image.name, codec.extensions[0]),
        "media_type": codec.mime,
        "input_size": len(image.data),
        "summary": result.summary(),
        "regions": region_shares(image.segmentation.working_labels, CLASSES, policy),  # as compress reports them
        "weights": every_weight(policy),
        "data": base64.b64encode(result.data).decode("ascii"),
        "preview": shown,
    }


def download_name(upload_name: str, extension: str) -> str:
    """The upload's stem, reduced to safe characters, with the output format's extension."""
    stem = _UNSAFE_NAME.sub("_", PurePath(upload_name.replace("\\", "/")).stem).strip("._")[:80]
    return f"{stem or 'image'}{extension}"


def original_png(image: StoredImage) -> bytes:
    """The upright pixels the codecs see (orientation, alpha and modes applied), as a PNG."""
    return _png(load_image(image.data, max_pixels=image.width * image.height).pixels)


def labels_png(image: StoredImage) -> bytes:
    return render.labels_png(image.segmentation.labels)


def overlay_png(image: StoredImage) -> bytes:
    pixels = load_image(image.data, max_pixels=image.width * image.height).pixels
    return render.overlay_png(pixels, image.segmentation.labels, image.shares)


RENDITIONS = {"original.png": original_png, "labels.png": labels_png, "overlay.png": overlay_png}


def _png(pixels: Any) -> bytes:
    buffer = io.BytesIO()
    # Level 1: these pictures go to a browser on the same machine or network; speed beats bytes.
    Image.fromarray(pixels).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()
