"""The HTTP API, version 1, under ``/api/v1``.

    GET  /health                       alive, version, model, load
    GET  /formats | /policies | /classes
    POST /segment                      multipart image -> id, class shares, URLs of the pictures below
    POST /compress                     multipart image + options -> the file (figures in a header) or JSON
    GET  /images/{id}                  what /segment said, while the image is kept
    GET  /images/{id}/original.png | labels.png | overlay.png
    POST /images/{id}/compress         JSON options -> JSON with the file: no upload, no network run

Every refusal is JSON ``{"detail": "...", "code": "..."}`` with a 4xx status (503 when busy).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.metadata import version as package_version
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Depends,
    File,
    Form,
    HTTPException,
    Path,
    Request,
    UploadFile,
)
from fastapi.responses import Response

from .. import codecs
from ..policy import available_policies, load_policy
from ..segmenters import Segmenter
from ..segmenters.render import PALETTE
from ..taxonomy import CLASSES
from . import service
from .limits import ServerLimits, WorkPool
from .schemas import (
    ClassInfo,
    CompressResponse,
    CompressUpload,
    ErrorResponse,
    FormatInfo,
    Health,
    PageCompressOptions,
    PolicyInfo,
    SegmentResponse,
)
from .store import ImageStore, StoredImage

API_PREFIX = "/api/v1"
UPLOAD_PATHS = (f"{API_PREFIX}/segment", f"{API_PREFIX}/compress")
_ACCEPTED_TYPES = ("", "application/octet-stream")  # besides image/*: what clients send when unsure
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in (
        (413, "Upload over the size limit"),
        (415, "Not multipart/form-data, or a file that is not declared as an image"),
        (422, "Not an image, truncated or corrupt, too many pixels, a bad option, or an image the format cannot hold"),
        (503, "Busy (retry after the Retry-After header's seconds) or over the time limit"),
    )
}
_KEPT = {404: {"model": ErrorResponse, "description": "No such image kept (upload it again)"}}
_MULTIPART_OPTIONS = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {"$ref": "#/components/schemas/CompressUpload"}}},
    }
}

router = APIRouter(prefix=API_PREFIX)


@dataclass
class ServerState:
    """What every request shares: the limits, the worker pool, the kept images and the model."""

    limits: ServerLimits
    pool: WorkPool
    store: ImageStore
    segmenter: Segmenter
    model: str


def state(request: Request) -> ServerState:
    return request.app.state.segpress


State = Annotated[ServerState, Depends(state)]


@router.get("/health", response_model=Health, tags=["service"])
async def health(server: State) -> dict[str, Any]:
    """Alive, and how loaded."""
    limits = server.limits
    return {
        "status": "ok",
        "version": package_version("segpress"),
        "model": server.model,
        "workers": server.pool.workers,
        "jobs": server.pool.jobs,
        "cached_images": len(server.store),
        "limits": {
            "max_upload_bytes": limits.max_upload_bytes, "max_pixels": limits.max_pixels,
            "queue": limits.queue, "timeout": limits.timeout, "memory": limits.memory,
        },
        "expected_wait": round(server.pool.backlog.wait(), 3),
    }


@router.get("/formats", response_model=list[FormatInfo], tags=["service"])
async def formats() -> list[dict[str, Any]]:
    """The codecs this installation has, in the order the CLI lists them."""
    found = []
    for name in codecs.available_names():
        codec = codecs.get(name)
        found.append({
            "name": name, "extensions": list(codec.extensions), "media_type": codec.mime,
            "description": codec.description, "version": codec.version(),
        })
    return found


@router.get("/policies", response_model=list[PolicyInfo], tags=["service"])
async def policies() -> list[dict[str, Any]]:
    """The preset policies, with every class's weight."""
    presets = [load_policy(name) for name in available_policies()]
    return [
        {
            "name": p.name, "description": p.description, "default": p.default, "margin": p.margin,
            "feather": p.feather, "min_area": p.min_area, "weights": service.every_weight(p),
        }
        for p in presets
    ]


@router.get("/classes", response_model=list[ClassInfo], tags=["service"])
async def classes() -> list[dict[str, Any]]:
    """The taxonomy the segmenter labels with and policies weigh, with the overlay colours."""
    return [
        {"index": index, "name": name, "colour": "#{:02x}{:02x}{:02x}".format(*PALETTE[name])}
        for index, name in enumerate(CLASSES)
    ]


@router.post("/segment", response_model=SegmentResponse, responses=_ERRORS, tags=["images"])
async def segment(
    server: State, file: Annotated[UploadFile, File(description="The image.")]
) -> dict[str, Any]:
    """Segment an image with the server's model and keep the result: later compress calls on its id
    need neither the upload nor the network again."""
    data, name = await _read_upload(file, server.limits)
    image = await server.pool.run(
        service.segment_upload, server.store, server.segmenter, data, name, server.limits.max_pixels,
        kind="segment", pixels=service.upload_pixels(data, server.limits.max_pixels),
    )
    return _described(image, name)


@router.post(
    "/compress",
    responses={200: {"content": {"image/*": {}}, "description": "The file, or a CompressResponse"}, **_ERRORS},
    openapi_extra=_MULTIPART_OPTIONS,
    tags=["images"],
)
async def compress(server: State, form: Annotated[CompressUpload, Form()]) -> Response:
    """Compress an uploaded image: the model finds what matters, the policy weighs it.

    With ``response=file`` (the default) the body is the compressed file and its figures are in the
    ``X-Segpress-Summary`` header (JSON); with ``response=json`` it is a CompressResponse.
    """
    data, name = await _read_upload(form.file, server.limits)
    max_pixels = server.limits.max_pixels

    def work() -> tuple[StoredImage, Any, Any]:
        image = service.segment_upload(server.store, server.segmenter, data, name, max_pixels)
        return (image, *service.compress_stored(image, form, max_pixels))

    pixels = service.upload_pixels(data, max_pixels)
    image, result, policy = await server.pool.run(work, kind=service.compress_kind(form), pixels=pixels)
    if form.response == "json":
        fields = service.response_fields(image, result, policy, preview=False, name=name)
        return Response(CompressResponse(**fields).model_dump_json(), media_type="application/json")
    codec = codecs.get(result.format)
    filename = service.download_name(name, codec.extensions[0])
    return Response(
        result.data,
        media_type=codec.mime,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Segpress-Summary": json.dumps(result.summary(), separators=(",", ":")),
            "X-Segpress-Image-Id": image.id,
        },
    )


ImageId = Annotated[str, Path(pattern="^[0-9a-f]{64}$", description="The id /segment or /compress gave.")]


@router.get("/images/{image_id}", response_model=SegmentResponse, responses=_KEPT, tags=["images"])
async def describe(server: State, image_id: ImageId) -> dict[str, Any]:
    """What /segment said about a kept image."""
    return _described(_kept(server, image_id))


@router.get(
    "/images/{image_id}/{picture}",
    responses={200: {"content": {"image/png": {}}, "description": "A PNG"}, **_KEPT, 503: _ERRORS[503]},
    response_class=Response,
    tags=["images"],
)
async def picture(
    server: State, image_id: ImageId,
    picture: Annotated[str, Path(pattern="^(original|labels|overlay)\\.png$")],
) -> Response:
    """original.png: the pixels the codecs see; labels.png: the label map (palette indices = classes);
    overlay.png: class colours over the photo with a legend."""
    image = _kept(server, image_id)
    data = await server.pool.run(image.rendition, picture, service.RENDITIONS[picture], kind="rendition",
                                 pixels=image.width * image.height)
    return Response(data, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.post(
    "/images/{image_id}/compress", response_model=CompressResponse, responses={**_KEPT, **_ERRORS}, tags=["images"]
)
async def compress_kept(server: State, image_id: ImageId, options: PageCompressOptions) -> dict[str, Any]:
    """Compress a kept image with new options (what the page does on every slider move)."""
    image = _kept(server, image_id)
    return await server.pool.run(
        lambda: service.compress_payload(
            image, options, server.limits.max_pixels, preview=options.preview, name=options.name
        ),
        kind=service.compress_kind(options), pixels=image.width * image.height,
    )


def _kept(server: ServerState, image_id: str) -> StoredImage:
    image = server.store.get(image_id)
    if image is None:
        raise HTTPException(404, "no such image on the server (it may have been dropped to make room): upload it again")
    return image


def _described(image: StoredImage, name: str | None = None) -> dict[str, Any]:
    base = f"{API_PREFIX}/images/{image.id}"
    return {
        "image_id": image.id, "name": name or image.name, "width": image.width, "height": image.height,
        "model": image.segmentation.model, "seconds": image.segmentation.seconds, "shares": image.shares,
        "notes": image.notes, "original_url": f"{base}/original.png", "labels_url": f"{base}/labels.png",
        "overlay_url": f"{base}/overlay.png",
    }


async def _read_upload(file: UploadFile, limits: ServerLimits) -> tuple[bytes, str]:
    """The upload's bytes and a name for it, once its declared type and its size are acceptable."""
    name = (file.filename or "upload")[-200:]
    declared = (file.content_type or "").split(";")[0].strip().lower()
    if not (declared.startswith("image/") or declared in _ACCEPTED_TYPES):
        raise HTTPException(415, f"{name}: sent as {declared}; send an image (image/*)")
    if file.size is not None and file.size > limits.max_upload_bytes:
        raise HTTPException(413, f"{name}: over the upload limit of {limits.max_upload_bytes:,} bytes")
    data = await file.read()
    if len(data) > limits.max_upload_bytes:
        raise HTTPException(413, f"{name}: over the upload limit of {limits.max_upload_bytes:,} bytes")
    return data, name
