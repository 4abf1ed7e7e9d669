"""The application: the API router, the page, the guards around them and uniform JSON errors.

``create_app(limits, segmenter)`` builds one; ``serve(host, port, ...)`` runs it under uvicorn.
The OpenAPI document is at ``/openapi.json``, browsable at ``/docs`` and ``/redoc`` (their scripts
are served from the installed fastapi-offline package, so nothing is fetched from a CDN).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import CodecError, InputError, OptionError, SegpressError
from ..segmenters import resolve_segmenter
from .limits import Busy, HostGuard, OverBudget, RequestLimit, ServerLimits, UploadGuard, WorkPool
from .routes import UPLOAD_PATHS, ServerState, router
from .store import ImageStore

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("segpress.server")

# The page uses only its own files; images it shows are blob: URLs made from API answers.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 408: "request_timeout",
          413: "too_large", 415: "unsupported_media_type", 422: "invalid_option", 429: "busy", 503: "busy"}


PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",  # revalidate: a new version of the page shows at once
}


class PageFiles(StaticFiles):
    """The page's files, each sent with a content policy that keeps it to this server."""

    def file_response(self, *args: Any, **kwargs: Any) -> Any:
        response = super().file_response(*args, **kwargs)
        response.headers.update(PAGE_HEADERS)
        return response


def create_app(limits: ServerLimits | None = None, segmenter: Any = None) -> FastAPI:
    """The segpress web application.

    Args:
        limits: upload size, pixel count, workers, queue, timeouts, cache (defaults: ``ServerLimits()``).
        segmenter: None for the shipped model, a Segmenter, or a user model config path (as in the API).
    """
    limits = limits or ServerLimits()
    model = resolve_segmenter(segmenter)

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        yield
        app.state.segpress.pool.shutdown()

    app = FastAPIOffline(
        title="segpress",
        version=package_version("segpress"),
        summary="Semantic-segmentation-guided image compression: bytes where the picture matters.",
        lifespan=lifespan,
    )
    app.state.segpress = ServerState(
        limits=limits,
        pool=WorkPool(limits.workers, limits.queue, limits.timeout, limits.work_memory),
        store=ImageStore(limits.cache_entries, limits.cache_bytes),
        segmenter=model,
        model=getattr(model, "name", type(model).__name__),
    )
    _add_error_handlers(app)
    app.include_router(router)
    _document_uploads_as_multipart(app)
    app.mount("/static", PageFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)

    app.add_middleware(
        UploadGuard, max_body=limits.max_upload_bytes, read_timeout=limits.read_timeout, upload_paths=UPLOAD_PATHS
    )
    app.add_middleware(RequestLimit, limit=limits.max_requests)
    app.add_middleware(HostGuard, allowed_hosts=limits.allowed_hosts)  # added last: the outermost, first to run
    return app


def _document_uploads_as_multipart(app: FastAPI) -> None:
    """Describe the upload forms as multipart only: FastAPI also lists the urlencoded form, which cannot
    carry a file (it does not see the file field inside the form model)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()  # made once and kept by FastAPI; the change below is idempotent
        for path in UPLOAD_PATHS:
            body = schema["paths"][path]["post"].get("requestBody", {}).get("content", {})
            if "multipart/form-data" in body:
                body.pop("application/x-www-form-urlencoded", None)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _error(status: int, detail: str, code: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "code": code or _CODES.get(status, "error")}, status, headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SegpressError)
    async def segpress_error(_request: Request, error: SegpressError) -> JSONResponse:
        if isinstance(error, InputError):
            return _error(422, str(error), "invalid_image")
        if isinstance(error, OptionError):
            return _error(422, str(error), "invalid_option")
        if isinstance(error, CodecError):  # the library refused this image in this format (too wide for WebP...)
            return _error(422, str(error), "codec_error")
        log.error("unexpected segpress error: %s", error)
        return _error(500, str(error), "internal_error")

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        return _error(422, _one_line(error.errors()), "invalid_option")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        return _error(error.status_code, str(error.detail), headers=getattr(error, "headers", None))

    @app.exception_handler(Busy)
    async def busy(_request: Request, error: Busy) -> JSONResponse:
        return _error(503, str(error), "busy", headers={"Retry-After": str(error.retry_after)})

    @app.exception_handler(OverBudget)
    async def over_budget(_request: Request, error: OverBudget) -> JSONResponse:
        return _error(413, str(error), "too_large")

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error")  # a bug: say so without internals, keep serving
        return _error(500, f"internal error ({type(error).__name__}); the server keeps running", "internal_error")


def _one_line(errors: Any) -> str:
    """FastAPI's list of validation errors as one line: 'roi_quality: Input should be ...; ...'."""
    parts = []
    for item in errors:
        where = ".".join(str(part) for part in item.get("loc", ()) if part not in ("body", "query", "path"))
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts) or "invalid request"


@contextmanager
def running(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` on a background thread while the block runs; yields its base URL.

    Port 0 takes a free port. For tests and benchmarks: the real server (uvicorn, sockets), in-process.
    """
    import uvicorn

    server = uvicorn.Server(_uvicorn_config(app, host, port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="segpress-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start on {host}:{port}")
        time.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()
    try:
        yield f"http://{host}:{bound[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def serve(host: str = "127.0.0.1", port: int = 8000, limits: ServerLimits | None = None,
          segmenter: Any = None, log_level: str = "info") -> None:
    """Run the application under uvicorn until interrupted."""
    import uvicorn

    app = create_app(limits or ServerLimits(), segmenter)
    uvicorn.Server(_uvicorn_config(app, host, port, log_level=log_level)).run()


def _uvicorn_config(app: FastAPI, host: str, port: int, **options: Any) -> Any:
    """uvicorn's settings for ``app``: request heads on a deadline (``connections``); requests in
    progress are bounded by the app's RequestLimit, not by uvicorn, which would count stalled connections."""
    import uvicorn

    from .connections import protocol_with_header_timeout  # uvicorn's protocol: imported with uvicorn

    limits: ServerLimits = app.state.segpress.limits
    return uvicorn.Config(app, host=host, port=port, http=protocol_with_header_timeout(limits.header_timeout),
                          timeout_keep_alive=5, **options)
