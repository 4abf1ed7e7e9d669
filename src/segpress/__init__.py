"""segpress: semantic-segmentation-guided image compression.

    image -> importance map (segmenter + policy, mask, labels + policy, or array)
          -> region-adaptive codec -> standard file

``segpress.compress`` is the entry point, ``segpress.segment`` runs the segmentation model alone;
``segpress.codecs`` lists the formats.
"""

from .errors import CodecError, InputError, OptionError, SegpressError

# The API (and with it every codec library) loads on first use, so that ``segpress.train`` and
# ``segpress.taxonomy`` import on a machine that has only the training dependencies.
_LAZY = {
    **dict.fromkeys(("CompressResult", "Importance", "build_importance", "compress", "detect_text", "segment"), "api"),
    "CompressOptions": "options",
}


def __getattr__(name: str) -> object:
    if name == "__version__":  # read from the installed metadata on first use (importlib.metadata is slow to load)
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("segpress")
        except PackageNotFoundError:  # running from a source tree without installing
            return "0+unknown"
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'segpress' has no attribute {name!r}")


__all__ = [
    "CodecError", "CompressOptions", "CompressResult", "Importance", "InputError", "OptionError", "SegpressError",
    "build_importance", "compress", "detect_text", "segment", "__version__",
]
