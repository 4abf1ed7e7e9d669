"""What the HTTP API takes and gives, as pydantic models (they also make the OpenAPI document).

Option names and meanings are those of ``segpress.api.compress`` and the ``compress`` command; only
preset policies are accepted by name (a client must not make the server read files), and
``weights`` changes some of the preset's class weights.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import UploadFile
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .. import api
from ..taxonomy import CLASSES


class CompressOptions(BaseModel):
    """How to compress an image; every field is optional."""

    model_config = ConfigDict(extra="forbid")

    format: str = Field("jpeg", description="A codec name from /api/v1/formats.")
    policy: str = Field("default", description="A policy preset from /api/v1/policies.")
    weights: dict[str, float] | None = Field(
        None,
        description="Class -> importance in [0, 1], replacing the preset's weight of those classes "
        '(in a form: the same as JSON text, e.g. {"person": 1, "sky": 0}).',
        examples=[{"person": 1.0, "vegetation": 0.3}],
    )
    default_weight: float | None = Field(None, ge=0.0, le=1.0, description="Importance of classes the policy does not list.")
    roi_quality: int = Field(api.DEFAULT_ROI_QUALITY, ge=1, le=100, description="Quality where importance is 1.")
    bg_quality: int = Field(api.DEFAULT_BG_QUALITY, ge=1, le=100, description="Quality where importance is 0.")
    target_size: int | str | None = Field(
        None, description="A byte budget (40000, 40KB, 1.5MB, 40KiB): the best important region that fits."
    )
    target_roi_psnr: float | None = Field(None, gt=0, description="PSNR (dB) to reach inside the important region.")
    progressive: bool = True
    subsampling: Literal["4:2:0", "4:4:4"] = "4:2:0"
    margin: float | None = Field(None, ge=0, description="Grow important regions: pixels (>= 1) or a fraction of the longer side (< 1).")
    feather: float | None = Field(None, ge=0, description="Soft edge width: pixels or a fraction of the longer side.")
    min_area: float | None = Field(None, ge=0, description="Drop smaller important regions: pixels or a fraction of the area.")
    strip: bool = Field(False, description="Drop the ICC profile and EXIF.")
    keep_map: bool = Field(False, description="Embed the importance map (see `segpress inspect`).")
    compare: bool = Field(True, description="Also find the uniform encode with the same PSNR inside (the saving).")

    @field_validator("weights", mode="before")
    @classmethod
    def _weights_from_text(cls, value: Any) -> Any:
        """A form field carries the weights as JSON text."""
        if isinstance(value, str):
            try:
                return json.loads(value) if value.strip() else None
            except json.JSONDecodeError:
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
        "roi_quality, bg_quality, encode_seconds... as in `segpress compress --json`."
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


class ErrorResponse(BaseModel):
    detail: str = Field(description="One line saying what was wrong.")
    code: str = Field(description="bad_request, invalid_option, invalid_image, codec_error, too_large, unsupported_media_type, not_found, busy...")
