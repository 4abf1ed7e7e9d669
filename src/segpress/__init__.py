"""segpress: semantic-segmentation-guided image compression.

    image -> importance map (segmenter + policy, mask, labels + policy, or array)
          -> region-adaptive codec -> standard file

``segpress.compress`` is the entry point, ``segpress.segment`` runs the segmentation model alone;
``segpress.codecs`` lists the formats.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("segpress")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0+unknown"

from .errors import InputError, OptionError, SegpressError  # noqa: E402

_API_NAMES = ("CompressResult", "Importance", "build_importance", "compress", "detect_text", "segment")


def __getattr__(name: str) -> object:
    # The API (and with it every codec library) loads on first use, so that ``segpress.train`` and
    # ``segpress.taxonomy`` import on a machine that has only the training dependencies.
    if name in _API_NAMES:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'segpress' has no attribute {name!r}")

__all__ = [
    "CompressResult", "Importance", "InputError", "OptionError", "SegpressError",
    "build_importance", "compress", "detect_text", "segment", "__version__",
]
