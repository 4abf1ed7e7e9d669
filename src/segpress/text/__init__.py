"""Text as an importance source: where the picture holds writing (signs, plates, labels, documents).

A blurred plate or sign is information lost, and semantic classes alone do not find it. This module
runs PP-OCRv4's text detector (a DB network, "Differentiable Binarization"; Apache-2.0) from the
``rapidocr-onnxruntime`` package, with onnxruntime and numpy only: nothing is downloaded, and the
package's own code (and its OpenCV dependency) is not needed to detect text. By default the network
runs in int8: built from the package's float32 file on first use with onnxruntime's quantisation
tools and cached (``quantized_model``).

    pixels ─ bilinear resize (working scale, sides multiples of 32) ─ BGR, (x / 255 - 0.5) / 0.5 ─ DB network
        ─ text probability (h, w) ─ > 0.3, components of mean probability >= 0.5, each grown by
          area x 1.6 / perimeter (PP-OCR's "unclip") ─ text regions (h, w)
        ─ resampled to the image: TextDetection.regions (H, W) bool, .probability (H, W), .boxes

The network's probability marks the *core* of each text line (DB is trained on boxes shrunk by
about 40 %); the unclip step grows each core back to the line's full extent, as PP-OCR does before
cutting lines out for recognition. ``sources.build_importance`` merges the regions into the importance
map with the policy's ``text`` weight (``segpress.policy``).

Speed against reach: the network runs at 0.75 of the image's resolution (``scale``; a policy's
``text_scale`` or ``--text-scale`` may ask for another; the ``text`` preset asks for 1.5) and at most
``max_side`` pixels on its longer side; the budget is 80 ms per megapixel on 2 CPU cores (text finding
must not cost more than the encode it guides). Reach
is bought with resolution, and nothing else measured came close (``benchmarks/text.py``: lines of
12-32 px in 12 fonts, colours and rotations on real photos; held-out seeds, IoU >= 0.5): int8 at 0.75
finds 33 % of 12-14 px lines and 61 % of 16-32 px ones (0.7, the default before: 22 % and 51 %) for
1.1-1.2 times 0.7's CPU time; at 1.0, 66 % and 74 % (2.1 times); at 1.5, 81 % and 88 % (5 times), as
the package's own pipeline (which brings the shorter side up to 736 px: 79 % and 87 %). Lowering the
thresholds, more or less box growth, other resampling filters, unsharp masking and float32 instead of
int8 each changed at most a few lines of 180 (the choosing seeds). Text on busy texture (façades,
foliage) needs the resolution even at 24-32 px. A cheap pass to say where to look at a high scale did
not pay (``benchmarks/text_proposals.py``): at a low scale the network's probability is zero on the
lines it misses, float32 too, so it proposes only what the default finds; edge density covers the lines
only when it proposes about 30 % of a photo, where the second pass alone costs more than the default.

Large photos keep the scale: up to ``max_side`` (3072) working pixels, so a 12 MP photo runs at 0.75
(before, a cap of 1600 ran it at 0.4 and found 2 % of 12-14 px lines and 22 % of 16-32 px ones on
3840x2880 scenes, held out; now 38 % and 60 %, for 3.2 times the CPU time). Working images over
``tile_side`` (1024) run as overlapping tiles, so the network's memory stays under about 100 MB
whatever the photo (it needs about 100 MB per working megapixel in one piece); each tile keeps the part
nearer its centre, with at least TILE_OVERLAP / 2 pixels of context, and post-processing runs on the
stitched map, so lines across seams stay whole.

``read_text`` runs the same package's recogniser on given boxes (for benchmarks and checks); unlike
detection it imports the package's own code, which needs OpenCV, pyclipper and Shapely.

Modules
-------
``models`` finds the package's model files and builds and caches the int8 detector; ``network`` is what
the network takes (working size, normalised input); ``detector`` is ``TextDetector`` (tiles included)
and ``TextDetection``; ``regions`` is the post-processing from probability map to text regions and line
boxes; ``shared`` holds the detectors loaded once per process (``default_detector``, ``detector_for``)
and ``describe``; ``reading`` is ``read_text``.
"""

from .detector import PRECISIONS, TILE_OVERLAP, TILE_SIDE, TextDetection, TextDetector
from .models import DETECTOR_FILE, DISTRIBUTION, INSTALL_HINT, RECOGNISER_FILE, model_file, quantized_model
from .network import DEFAULT_MAX_SIDE, DEFAULT_SCALE, STRIDE, working_size
from .reading import read_text
from .regions import MIN_SIDE, PROBABILITY_THRESHOLD, SCORE_THRESHOLD, UNCLIP_RATIO, Box, text_lines, text_regions
from .shared import default_detector, describe, detector_for

__all__ = [
    "Box",
    "DEFAULT_MAX_SIDE",
    "DEFAULT_SCALE",
    "DETECTOR_FILE",
    "DISTRIBUTION",
    "INSTALL_HINT",
    "MIN_SIDE",
    "PRECISIONS",
    "PROBABILITY_THRESHOLD",
    "RECOGNISER_FILE",
    "SCORE_THRESHOLD",
    "STRIDE",
    "TILE_OVERLAP",
    "TILE_SIDE",
    "TextDetection",
    "TextDetector",
    "UNCLIP_RATIO",
    "default_detector",
    "describe",
    "detector_for",
    "model_file",
    "quantized_model",
    "read_text",
    "text_lines",
    "text_regions",
    "working_size",
]
