"""Text as an importance source: where the picture holds writing (signs, plates, labels, documents).

A blurred plate or sign is information lost, and semantic classes alone do not find it. By default this
module runs segpress's own text detector, a small network shipped in ``segpress/models``
(``text-detector.onnx``, int8, 0.7 MB; trained by ``segpress.train.textstudent`` on lines drawn on real
photos), with onnxruntime, numpy and scipy only: nothing is downloaded and no extra is needed.

    pixels ─ bilinear resize (working scale, sides multiples of 32) ─ BGR, (x / 255 - 0.5) / 0.5 ─ network
        ─ text-line core probability (h, w) ─ > threshold, components of mean probability >= 0.5, each
          grown by area x unclip_ratio / perimeter (PP-OCR's "unclip") ─ text regions (h, w)
        ─ resampled to the image: TextDetection.regions (H, W) bool, .probability (H, W), .boxes

The network marks the *core* of each text line (trained on line boxes shrunk by 0.3 of their height);
the unclip step grows each core back to the line's full extent. ``sources.build_importance`` merges the
regions into the importance map with the policy's ``text`` weight (``segpress.policy``).

Why a network of our own: PP-OCRv4's detector (a DB network from the ``rapidocr-onnxruntime`` package,
``ppocr_network``) reaches 12-14 px text only with the image enlarged 1.5 times, at about 5 times the
time budget of 80 ms per megapixel on 2 cores. The student predicts line cores at half the input's
resolution from MobileNetV2's first stages, so it reaches small text near the image's own scale. It
runs at 0.75 (``DEFAULT_SCALE``: the largest of 0.75, 0.875 and 1.0 within the budget, 63 ms/MP against
91 at 1.0; ``--text-scale`` or a policy's ``text_scale`` may ask for another). Threshold, unclip ratio
and scale were chosen on the choosing seeds of ``benchmarks/text.py``, which reports held-out scenes
(fonts, words and backgrounds the student never saw in training).

Large photos keep the scale: up to ``max_side`` (4096) working pixels, so a 12 MP phone photo runs at
0.75. Working images over ``tile_side`` (1024) run as overlapping tiles, so the network's memory stays
bounded whatever the photo; each tile keeps the part nearer its centre, with at least TILE_OVERLAP / 2
pixels of context, and post-processing runs on the stitched map, so lines across seams stay whole.

PP-OCRv4's detector stays available (``TextDetector(ppocr_network())``, ``segpress[text]``; int8 built
from the package's float32 file on first use and cached, ``quantized_model``): the student's training
uses it to find the real text already in its background photos, and the benchmark compares against it.
``read_text`` runs the same package's recogniser on given boxes (for benchmarks and checks); unlike
detection it imports the package's own code, which needs OpenCV, pyclipper and Shapely.

Modules
-------
``models`` describes the networks (``TextNetwork``: the shipped student, PP-OCRv4's files and its int8
build and cache); ``network`` is what a network takes (working size, normalised input); ``detector``
is ``TextDetector`` (tiles included) and ``TextDetection``; ``regions`` is the post-processing from
probability map to text regions and line boxes; ``shared`` holds the detectors loaded once per process
(``default_detector``, ``detector_for``) and ``describe``; ``reading`` is ``read_text``.
"""

from .detector import TILE_OVERLAP, TILE_SIDE, TextDetection, TextDetector
from .models import (
    DETECTOR_FILE,
    DISTRIBUTION,
    INSTALL_HINT,
    PPOCR_SCALE,
    PRECISIONS,
    RECOGNISER_FILE,
    STUDENT_FILE,
    TextNetwork,
    model_file,
    ppocr_network,
    quantized_model,
    student_network,
)
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
    "PPOCR_SCALE",
    "PRECISIONS",
    "PROBABILITY_THRESHOLD",
    "RECOGNISER_FILE",
    "SCORE_THRESHOLD",
    "STRIDE",
    "STUDENT_FILE",
    "TILE_OVERLAP",
    "TILE_SIDE",
    "TextDetection",
    "TextDetector",
    "TextNetwork",
    "UNCLIP_RATIO",
    "default_detector",
    "describe",
    "detector_for",
    "model_file",
    "ppocr_network",
    "quantized_model",
    "read_text",
    "student_network",
    "text_lines",
    "text_regions",
    "working_size",
]
