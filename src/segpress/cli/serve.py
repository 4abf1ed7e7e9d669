"""``segpress serve``: the web page and the HTTP API (``segpress.server``)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from ..errors import OptionError
from . import console
from .shared import MaxPixelsOption, SegmenterOption, load_segmenter


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on; 0.0.0.0 for every interface (no authentication!).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="TCP port.", min=1, max=65535)] = 8000,
    max_upload: Annotated[str, typer.Option(help="Largest upload: bytes, or 32MB, 500KB, 8MiB.")] = "32MB",
    max_pixels: MaxPixelsOption = 40_000_000,
    workers: Annotated[Optional[int], typer.Option(help="Segmentations and encodes at once (default: the cores, at most 4).")] = None,
    queue: Annotated[int, typer.Option(help="Requests that may wait for a worker; beyond that: 503.")] = 64,
    timeout: Annotated[float, typer.Option(help="Seconds a request may wait for and use a worker.")] = 60.0,
    memory: Annotated[str, typer.Option(help="Memory the server stays under: 3GB, 1500MB... Work is admitted by its pixel count (about 32 bytes per pixel for JPEG, 48 for other formats, plus 64 MB a job); a job waits until its memory is free; one that needs more than the budget leaves for work (the budget less 0.4 GB for the process and 0.5 GB for kept images) is refused with 413.")] = "3GB",
    segmenter: SegmenterOption = None,
    allowed_host: Annotated[Optional[list[str]], typer.Option("--allowed-host", metavar="NAME", help="A host name clients may use (the Host header; repeatable); localhost, 127.0.0.1 and [::1] always. Default: those only on 127.0.0.1, any name on other addresses.", show_default=False)] = None,
) -> None:
    """Serve the web page (drop a photo, weigh its classes, compare) and the HTTP API (/docs)."""
    try:
        from .. import server
    except ImportError as error:
        raise OptionError(f"segpress serve needs the serve extra: pip install 'segpress[serve]' ({error.name} is missing)") from None
    from ..ratecontrol import parse_size

    sizes = {} if workers is None else {"workers": workers}
    allowed_hosts = server.allowed_hosts_for(host, allowed_host or ())
    limits = server.ServerLimits(max_upload_bytes=parse_size(max_upload), max_pixels=max_pixels, queue=queue,
                                 timeout=timeout, allowed_hosts=allowed_hosts, memory=parse_size(memory), **sizes)
    model, _ = load_segmenter(segmenter)
    _check_listen(host, port)
    if host not in ("127.0.0.1", "localhost", "::1"):
        names = ", by any host name (--allowed-host NAME to accept only the names given)" if "*" in allowed_hosts else ""
        console.stderr.print(f"note: listening on {host}: anyone who can reach it can use this server{names}", markup=False)
    server.serve(host, port, limits, model)


def _check_listen(host: str, port: int) -> None:
    """One line, not uvicorn's traceback, when the address cannot be had (in use, not this machine's)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(infos[0][4])
    except OSError as error:
        raise OptionError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
