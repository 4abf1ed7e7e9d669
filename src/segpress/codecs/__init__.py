"""Codec registry: each codec module registers itself on import; callers ask by name or extension.

Adding a format means adding one module that ends with ``register(TheCodec())`` and naming it in
``_BUILTIN`` below; nothing else in segpress names formats.

The registry's order is ``_BUILTIN``'s, by codec name, whatever order the modules happen to be imported
in (other codecs follow in the order they register): ``names()``, ``available_names()``, ``for_path`` and
``sniff`` all walk it. Two codecs may write the same extension (``jxl``, the JPEG transcode, and
``jxl-pixels``; ``jpeg``, on jpegli where installed, and ``jpeg-turbo``, on libjpeg-turbo alone):
``for_path`` and ``sniff`` answer with the first; the other is chosen by name.

A library's own failure inside ``encode``, ``encode_uniform`` or ``decode`` (Pillow's ``OSError``,
imagecodecs' ``JpegxlError``...) reaches the caller as a :class:`~segpress.errors.CodecError`
(see :class:`~segpress.codecs.base.Codec`).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import OptionError
from .base import Codec, EncodeSettings, Metadata

# Codec name -> the module under segpress.codecs that defines it, in the order codecs are listed.
_BUILTIN = {"jpeg": "jpeg", "jxl": "jxl", "webp": "webp", "avif": "avif", "j2k": "j2k", "jxl-pixels": "jxl_pixels",
            "jpeg-turbo": "jpeg"}
_REGISTRY: dict[str, Codec] = {}


def register(codec: Codec) -> None:
    _REGISTRY[codec.name] = codec
    ordered = sorted(_REGISTRY.items(), key=lambda item: _rank(item[0]))  # stable: others keep their order
    _REGISTRY.clear()
    _REGISTRY.update(ordered)


def _rank(name: str) -> int:
    return list(_BUILTIN).index(name) if name in _BUILTIN else len(_BUILTIN)


def _load_builtin(*names: str) -> None:
    """Imports the modules of the built-in codecs ``names`` (all when none), which register them."""
    for name in names or _BUILTIN:
        if name in _BUILTIN and name not in _REGISTRY:
            importlib.import_module(f"{__name__}.{_BUILTIN[name]}")


def names() -> list[str]:
    """Names of every codec segpress knows, installed or not (see ``available_names``)."""
    return [*_BUILTIN, *(name for name in _REGISTRY if name not in _BUILTIN)]


def available_names() -> list[str]:
    """Names of the codecs whose libraries are installed."""
    _load_builtin()
    return [name for name, codec in _REGISTRY.items() if codec.available]


def get(name: str) -> Codec:
    """The codec called ``name`` (any case); ``OptionError`` when unknown or its library is missing."""
    _load_builtin(name.lower())
    codec = _REGISTRY.get(name.lower())
    if codec is None:
        raise OptionError(f"unknown format {name!r}; choose one of: {', '.join(available_names())}")
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


__all__ = ["Codec", "EncodeSettings", "Metadata", "available_names", "get", "names", "register", "for_path", "sniff"]
