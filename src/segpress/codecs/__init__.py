"""Codec registry: each codec module registers itself on import; callers ask by name or extension.

Adding a format means adding one module that ends with ``register(TheCodec())`` and listing it in
``_BUILTIN`` below; nothing else in segpress names formats.

The registry's order is ``_BUILTIN``'s, whatever order the modules happen to be imported in (other
codecs follow in the order they register): ``names()``, ``for_path`` and ``sniff`` all walk it.
Two codecs may write the same extension (``jxl``, the JPEG transcode, and ``jxl-pixels``):
``for_path`` answers with the first, ``jxl``; the other is chosen by name.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import OptionError
from .base import Codec, EncodeSettings, Metadata

_REGISTRY: dict[str, Codec] = {}
_BUILTIN = ("jpeg", "jxl", "webp", "avif", "j2k", "jxl_pixels")


def register(codec: Codec) -> None:
    _REGISTRY[codec.name] = codec
    # Keep _BUILTIN's order (by the registering module), later codecs after it in registration order.
    ordered = sorted(_REGISTRY.items(), key=lambda item: _rank(item[1]))
    _REGISTRY.clear()
    _REGISTRY.update(ordered)


def _rank(codec: Codec) -> int:
    module = type(codec).__module__.rpartition(".")[2]
    return _BUILTIN.index(module) if module in _BUILTIN else len(_BUILTIN)


def _load_builtin() -> None:
    for module in _BUILTIN:
        importlib.import_module(f"{__name__}.{module}")


def names() -> list[str]:
    """Names of the codecs whose libraries are installed."""
    _load_builtin()
    return [name for name, codec in _REGISTRY.items() if codec.available]


def get(name: str) -> Codec:
    _load_builtin()
    codec = _REGISTRY.get(name.lower())
    if codec is None:
        raise OptionError(f"unknown format {name!r}; choose one of: {', '.join(names())}")
    if not codec.available:
        raise OptionError(f"format {name!r} needs a codec library that is not installed ({codec.description})")
    return codec


def for_path(path: str | Path) -> Codec | None:
    """The codec that writes files with this extension, if any."""
    _load_builtin()
    suffix = Path(path).suffix.lower()
    for codec in _REGISTRY.values():
        if suffix in codec.extensions:
            return codec
    return None


def sniff(data: bytes) -> Codec | None:
    """The codec whose magic bytes ``data`` starts with."""
    _load_builtin()
    for codec in _REGISTRY.values():
        if codec.available and codec.check(data):
            return codec
    return None


__all__ = ["Codec", "EncodeSettings", "Metadata", "get", "names", "register", "for_path", "sniff"]
