"""What the HTTP API takes and gives, as pydantic models (they also make the OpenAPI document).

The compress options are made from ``segpress.options.CompressOptions`` (its fields, defaults, "doc"
and bounds), so they are those of ``segpress.api.compress`` and the ``compress`` command; only
preset policies are accepted by name (a client must not make the server read files), and
``weights`` changes some of the preset's class weights.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any, Literal

from fastapi import UploadFile
from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from .. import options
from ..taxonomy import CLASSES

# The CompressOptions fields a request may set (the server keeps its own pixel limit).
SERVED_OPTIONS = tuple(f.name for f in dataclasses.fields(options.CompressOptions) if f.metadata["server"])


def _option_fields() -> dict[str, Any]:
    """Each served compress option as a pydantic field: its type (the choices, if any), default, doc and bounds."""
    hints = typing.get_type_hints(options.CompressOptions)
    made = {}
    for field in dataclasses.fields(options.CompressOptions):
        if field.name in SERVED_OPTIONS:
            meta = field.metadata
            kind = Literal[meta["choices"]] if "choices" in meta else hints[field.name]
            made[field.name] = (kind, Field(field.default, description=meta["doc"], **meta.get("bounds", {})))
    return made


class _ImportanceOptions(BaseModel):
    """What decides the importance: a preset policy, adjusted."""

    model_config = ConfigDict(extra="forbid")

    policy: str = Field("default", description="A policy preset from /api/v1/policies.")
    weights: dict[str, float] | None = Field(
        None,
        description="Class -> importance in [0, 1], replacing the preset's weight of those classes "
        '(in a form: the same as JSON text, e.g. {"person": 1, "sky": 0}).',
        examples=[{"person": 1.0, "vegetation": 0.3}],
    )
    default_weight: float | None = Field(None, ge=0.0, le=1.0, description="Importance of classes the policy does not list.")

    @field_validator("weights", mode="before")
    @classmethod
    def _weights_from_text(cls, value: Any) -> Any:
        """A form field carries the weights as JSON text."""
        if isinstance(value, str):
            try:
                return json.loads(value) if value.strip() else None
            except (json.JSONDecodeError, RecursionError):  # RecursionError: nested thousands deep
                raise ValueError('weights must be a JSON object such as {"person": 1, "sky": 0}') from None
        return value

    @field_validator("weights")
    @classmethod
    def _known_classes(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        for name, weight in (value or {}).items():
            if name not in CLASSES:
                raise ValueError(f"unknown class {name!r}; classes: {', '.join(CLASSES)}")
            if not 0.0 <= weight <= 1.0:
                raise ValueError(f"weight of {name!r} must be in [0, 1], got {weight}")
        return value


CompressOptions = create_model(
    "CompressOptions", __base__=_ImportanceOptions, __doc__="How to compress an image; every field is optional.",
    **_option_fields(),
)


class PageCompressOptions(CompressOptions):
    """Options for an image already uploaded; ``preview`` adds a PNG of the result for browsers that
    cannot show the format."""

    preview: bool = Field(False, description="Also return the decoded result as a PNG (base64).")
    name: str | None = Field(
        None, max_length=200, description="File name for the download (default: the name the image was uploaded with)."
    )


class CompressUpload(CompressOptions):
    """A multipart form: the image in ``file`` and any compress option as a field."""

    file: UploadFile = Field(description="The image (JPEG, PNG, TIFF, WebP, AVIF, GIF, BMP, PNM, JPEG 2000, QOI).")
    response: Literal["file", "json"] = Field(
        "file", description="file: the compressed file, figures in the X-Segpress-Summary header; json: a CompressResponse."
    )


class CompressResponse(BaseModel):
    image_id: str = Field(description="SHA-256 of the upload; its segmentation is kept for /images/{image_id}/...")
    filename: str = Field(description="A download name: the upload's stem and the format's extension.")
    media_type: str
    input_size: int = Field(description="Bytes of the upload.")
    summary: dict[str, Any] = Field(
        description="size, bpp, psnr_inside, psnr_outside, important_fraction, uniform_size, saving, "
        "roi_quality, bg_quality, encode_seconds, fallback (true: the uniform file was returned, see notes)... "
        "as in `segpress compress --json`."
    )
    regions: dict[str, float] = Field(description="Protected class (weight > 0) -> share of pixels.")
    weights: dict[str, float] = Field(description="The importance of every class that was used.")
    data: str = Field(description="The compressed file, base64.")
    preview: str | None = Field(None, description="The decoded result as a PNG, base64 (when asked for).")


class SegmentResponse(BaseModel):
    image_id: str
    name: str
    width: int
    height: int
    model: str
    seconds: float = Field(description="Time the segmenter took.")
    shares: dict[str, float] = Field(description="Class -> share of pixels, largest first.")
    notes: list[str] = Field(description="Conversions applied when reading the image.")
    original_url: str = Field(description="The upright pixels the codecs see, as PNG.")
    labels_url: str = Field(description="Palette PNG of taxonomy indices (255: no class); usable as --labels.")
    overlay_url: str = Field(description="The photo with class colours and a legend.")


class FormatInfo(BaseModel):
    name: str
    extensions: list[str]
    media_type: str
    description: str
    version: str


class PolicyInfo(BaseModel):
    name: str
    description: str
    default: float
    margin: float
    feather: float
    min_area: float
    weights: dict[str, float] = Field(description="Every class's importance (the default filled in).")


class ClassInfo(BaseModel):
    index: int
    name: str
    colour: str = Field(description="The overlay colour, #rrggbb.")


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    model: str
    workers: int
    jobs: int = Field(description="Requests being worked on or waiting now.")
    cached_images: int
    limits: dict[str, int | float]
    expected_wait: float = Field(description="Seconds of work ahead of a request arriving now, as estimated "
                                             "from the jobs done so far (over the timeout: refused at once).")


class ErrorResponse(BaseModel):
    detail: str = Field(description="One line saying what was wrong.")
    code: str = Field(description="bad_request, invalid_option, invalid_image, codec_error, too_large, unsupported_media_type, not_found, busy...")
