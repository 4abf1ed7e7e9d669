"""segpress over HTTP: a page to see what was kept, and a JSON API for services (``segpress serve``).

Needs the ``serve`` extra (``pip install 'segpress[serve]'``: FastAPI, uvicorn, python-multipart,
fastapi-offline).

    browser page (static/) ─┐
    services ───────────────┴─ /api/v1 (routes.py) ─ HostGuard, UploadGuard (limits.py: Host name, size, pauses,
                                                     content type)
                                                   ─ WorkPool (limits.py: bounded threads + queue, timeout)
                                                   ─ service.py ─ ImageStore (store.py: segmentation per
                                                                  upload hash, LRU) ─ segpress.api.compress

The page uploads an image once (``/segment``), shows the label overlay and one slider per class,
and on every change asks ``/images/{id}/compress`` with the new class weights: the kept segmentation
is reused, so a change costs one encode (and the comparison against uniform encoding).
"""

from .app import create_app, serve
from .limits import ServerLimits, allowed_hosts_for

__all__ = ["ServerLimits", "allowed_hosts_for", "create_app", "serve"]
