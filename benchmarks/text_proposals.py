"""Can a cheap pass say where to look for text, so that only there the detector runs at a high scale?

The detector's cost grows with its working scale squared, and most of a photo holds no text. A two-stage
detector would run a cheap full-picture pass, keep candidate regions, and run the detector again at a
high scale (1.5) on those only. That pays only when the candidates are a small share of the picture
and still hold the lines that the default scale misses. This script measures both, on the scenes of
``text_scenes`` (the choosing seeds by default: it decides whether to build the idea), for two kinds of
proposal. It measures PP-OCRv4's detector, the one segpress ran before its own student (see
``segpress.text``), whose cost at the scale small text needs made the idea worth trying:

1. *the detector's own probability at a low scale*: pixels above a low threshold, grown by GROWTH image
   pixels, for the int8 detector (as shipped) and float32 (whose probabilities are not rounded to
   1/255, so a weak response is not lost to quantisation);
2. *edge density*: 16 px blocks ranked by their share of strong edges (a grey step over STRONG_EDGE
   levels to the next pixel), the top share kept and grown by one block (text is dense in strong edges;
   so are façades and foliage).

For each: the share of the picture proposed, the lines with at least half their box inside the proposal
(by font size), and the two-stage recall it would give: the 1.5 detector's probability kept only inside
the proposal, then the usual post-processing, matched to the lines with IoU >= 0.5 (an upper bound:
tiles run on their own would lose some context). The default and the full 1.5 detector give the bounds.

Writes benchmarks/results/text_proposals.json and .md. Usage:
    .venv/bin/python benchmarks/text_proposals.py [--seeds choosing|heldout] [--per-seed N] [--photos DIR|none]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
from common import DEFAULT_OUT, DEFAULT_PHOTOS
from scipy import ndimage
from text_scenes import CHOOSING_SEEDS, HELDOUT_SEEDS, MATCH_IOU, SMALL, Scene, match, scenes

from segpress.bench.record import Run, machine_line
from segpress.segmenters.base import resize_bilinear
from segpress.text import PPOCR_SCALE, TextDetector, ppocr_network, text_lines

HIGH_SCALE = 1.5
LOW_SCALES = (0.375, 0.5, 0.75)
THRESHOLDS = (0.01, 0.05, 0.3)  # 0.3: the detector's own pixel threshold
GROWTH = 16  # image pixels around each proposed pixel
EDGE_SHARES = (0.1, 0.25, 0.5)
PER_SEED = 12  # as benchmarks/text.py
STRONG_EDGE = 60
BLOCK = 16


def line_boxes(boxes: list[tuple[int, int, int, int]], grid: tuple[int, int], height: int, width: int) -> list:
    scale_y, scale_x = height / grid[0], width / grid[1]
    return [(int(left * scale_x), int(top * scale_y), int(np.ceil(right * scale_x)), int(np.ceil(bottom * scale_y)))
            for left, top, right, bottom in boxes]


def found_lines(scene: Scene, probability: np.ndarray) -> list[bool]:
    height, width = scene.pixels.shape[:2]
    boxes = line_boxes(text_lines(probability)[1], probability.shape, height, width)
    matched = match([line.box for line in scene.lines], boxes)
    return [i in matched for i in range(len(scene.lines))]


def tally(scenes_: list[Scene], per_scene: list[list[bool]]) -> dict[str, Any]:
    small = [hit for scene, hits in zip(scenes_, per_scene, strict=True)
             for line, hit in zip(scene.lines, hits, strict=True) if line.size <= SMALL]
    large = [hit for scene, hits in zip(scenes_, per_scene, strict=True)
             for line, hit in zip(scene.lines, hits, strict=True) if line.size > SMALL]
    return {"12_14": [sum(small), len(small)], "16_plus": [sum(large), len(large)]}


def evaluate(drawn: list[Scene], proposals: list[np.ndarray], high: list[np.ndarray]) -> dict[str, Any]:
    """Share proposed, lines covered, and the two-stage recall of ``proposals`` (bool, image size)."""
    covered, two_stage = [], []
    for scene, proposal, probability in zip(drawn, proposals, high, strict=True):
        covered.append([proposal[top:bottom, left:right].mean() >= 0.5 for left, top, right, bottom in
                        (line.box for line in scene.lines)])
        inside = resize_bilinear(proposal.astype(np.float32), *probability.shape) >= 0.5
        two_stage.append(found_lines(scene, probability * inside))
    return {"share": float(np.mean([p.mean() for p in proposals])), "covered": tally(drawn, covered),
            "two_stage": tally(drawn, two_stage)}


def grow(mask: np.ndarray, pixels: int) -> np.ndarray:
    return ndimage.binary_dilation(mask, iterations=pixels) if mask.any() else mask


def edge_blocks(pixels: np.ndarray, share: float) -> np.ndarray:
    grey = pixels.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    steps = np.zeros(grey.shape, bool)
    steps[:, :-1] |= np.abs(np.diff(grey, axis=1)) > STRONG_EDGE
    steps[:-1, :] |= np.abs(np.diff(grey, axis=0)) > STRONG_EDGE
    rows, cols = grey.shape[0] // BLOCK, grey.shape[1] // BLOCK
    density = steps[: rows * BLOCK, : cols * BLOCK].reshape(rows, BLOCK, cols, BLOCK).mean(axis=(1, 3))
    chosen = ndimage.binary_dilation(density >= np.quantile(density, 1 - share))
    full = np.zeros(grey.shape, bool)
    full[: rows * BLOCK, : cols * BLOCK] = np.repeat(np.repeat(chosen, BLOCK, 0), BLOCK, 1)
    return full


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", choices=("choosing", "heldout"), default="choosing")
    parser.add_argument("--per-seed", type=int, default=PER_SEED)
    parser.add_argument("--photos", default=str(DEFAULT_PHOTOS))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    photos = None if args.photos == "none" or not Path(args.photos).is_dir() else Path(args.photos)
    run = Run("text_proposals", argv, ("onnxruntime", "scipy"))
    seeds = CHOOSING_SEEDS if args.seeds == "choosing" else HELDOUT_SEEDS
    drawn = scenes(seeds, args.per_seed, photos, heldout=args.seeds == "heldout")
    height, width = drawn[0].pixels.shape[:2]

    def probabilities(detector: TextDetector) -> list[np.ndarray]:
        return [detector._probability(scene.pixels, detector.working_size(height, width)) for scene in drawn]

    high = probabilities(TextDetector(ppocr_network(), scale=HIGH_SCALE))
    default = probabilities(TextDetector(ppocr_network(), scale=PPOCR_SCALE))
    bounds = {f"int8@{PPOCR_SCALE:g} (default)": tally(drawn, [found_lines(s, p) for s, p in zip(drawn, default, strict=True)]),
              f"int8@{HIGH_SCALE:g} everywhere": tally(drawn, [found_lines(s, p) for s, p in zip(drawn, high, strict=True)])}
    rows: list[dict[str, Any]] = []
    for precision in ("int8", "float32"):
        for scale in LOW_SCALES:
            low = probabilities(TextDetector(ppocr_network(precision), scale=scale))
            for threshold in THRESHOLDS:
                proposals = [grow(resize_bilinear(p, height, width) > threshold, GROWTH) for p in low]
                rows.append({"proposal": f"{precision}@{scale:g} > {threshold:g}, grown {GROWTH} px",
                             **evaluate(drawn, proposals, high)})
    for share in EDGE_SHARES:
        rows.append({"proposal": f"edge density, top {share:.0%} of {BLOCK} px blocks, grown a block",
                     **evaluate(drawn, [edge_blocks(scene.pixels, share) for scene in drawn], high)})
    settings = {"seed_set": args.seeds, "seeds": list(seeds), "per_seed": args.per_seed, "high_scale": HIGH_SCALE,
                "match_iou": MATCH_IOU, "growth": GROWTH, "scenes": len(drawn),
                "lines": sum(len(scene.lines) for scene in drawn)}
    print(markdown(run.write(args.out, settings, {"bounds": bounds, "proposals": rows}, markdown, digits=4)))


def cell(pair: list[int]) -> str:
    return f"{100 * pair[0] / pair[1]:.1f} % ({pair[0]}/{pair[1]})"


def markdown(document: dict[str, Any]) -> str:
    s, results = document["settings"], document["results"]
    lines = ["# text_proposals: where to run the detector at a high scale", "",
             f"{machine_line(document)}. {s['scenes']} scenes of the {s['seed_set']} seeds {s['seeds']}, "
             f"{s['lines']} lines. Two-stage recall: the {s['high_scale']:g} detector's "
             "probability kept inside the proposal only (an upper bound).", "",
             "| Detector run everywhere | recall 12-14 px | recall 16-32 px |", "|---|---|---|"]
    lines += [f"| {label} | {cell(b['12_14'])} | {cell(b['16_plus'])} |" for label, b in results["bounds"].items()]
    relative = (s["high_scale"] / PPOCR_SCALE) ** 2
    lines += ["", "Second-stage cost against the default's: the share proposed x "
              f"({s['high_scale']:g} / {PPOCR_SCALE:g})^2 (the network's cost grows with its input's area; "
              "the proposal's own cost and the context around each region are not counted).", "",
              "| Proposal | share of the picture | second stage / default cost | lines covered 12-14 px | 16-32 px | "
              "two-stage recall 12-14 px | 16-32 px |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {row['proposal']} | {100 * row['share']:.1f} % | {row['share'] * relative:.2f} | {cell(row['covered']['12_14'])} | "
              f"{cell(row['covered']['16_plus'])} | {cell(row['two_stage']['12_14'])} | {cell(row['two_stage']['16_plus'])} |"
              for row in results["proposals"]]
    lines += ["", f"Run time: {document['seconds']:.0f} s.", "", f"Reproduce: `{document['command']}`", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main(sys.argv[1:])
