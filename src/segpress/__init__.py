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

from .api import CompressResult, Importance, build_importance, compress, detect_text, segment  # noqa: E402
from .options import CompressOptions  # noqa: E402
from .errors import CodecError, InputError, OptionError, SegpressError  # noqa: E402

__all__ = [
    "CodecError", "CompressOptions", "CompressResult", "Importance", "InputError", "OptionError", "SegpressError",
    "build_importance", "compress", "detect_text", "segment", "__version__",
]
