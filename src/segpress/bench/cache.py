"""The resume cache: one JSON record per (image, format, settings), written as soon as it is measured.

A record's key hashes everything that decides its numbers: the image's and label map's bytes, the
label set, the format and its library version, the quality sweep, the policy, the segmentation
model's bytes and the record schema. A re-run (after an interruption, or with one more format)
measures only what has no record under its key; changing any setting measures afresh. Records are
written atomically (temporary file + rename), so an interrupted run leaves whole records or none;
an unreadable record is measured again.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from segpress.imageio import atomic_write

# 2: semantic points are the file compress writes (the fallback to uniform), the adaptive one under "adaptive"
RECORD_SCHEMA = "segpress.bench.record/2"


def record_key(
    identity: dict[str, Any], image_sha256: str, labels_sha256: str | None, format: str, codec_version: str
) -> str:
    """SHA-256 over the run's identity (settings, model), this image, and this format and its library version."""
    material = {"schema": RECORD_SCHEMA, "run": identity, "image": image_sha256, "labels": labels_sha256,
                "format": format, "codec": codec_version}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


class Cache:
    """Records in ``folder``, named ``<image name>.<format>.<key prefix>.json``."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, name: str, format: str, key: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
        return self.folder / f"{safe}.{format}.{key[:20]}.json"

    def load(self, name: str, format: str, key: str) -> dict[str, Any] | None:
        """The record stored under ``key``, or None (absent, unreadable, or another key's)."""
        try:
            record = json.loads(self.path(name, format, key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get("key") != key or record.get("schema") != RECORD_SCHEMA:
            return None
        return record

    def save(self, record: dict[str, Any]) -> None:
        target = self.path(record["image"]["name"], record["format"], record["key"])
        atomic_write(target, json.dumps(record).encode(), overwrite=True)
