"""``python -m segpress.train.textstudent``: train the text student, or export a checkpoint.

    python -m segpress.train.textstudent fit build/text-student --backgrounds DIR [DIR ...] \\
        [--exclude LIST] [--minutes 70]
    python -m segpress.train.textstudent export build/text-student/last.pt src/segpress/models/text-detector.onnx \\
        --scale 1.0 --threshold 0.3 --unclip-ratio 1.5

``fit`` first finds the text already in every background (cached in OUT/ignore.npz; see
``scenes.ignore_masks``), then trains until the minutes are spent; run again, it resumes.
``--exclude`` names a file of background file names (one per line) never to train on: the
benchmark's held-out backgrounds and text-free photos.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .fit import FitSettings, export, fit
from .scenes import Backgrounds, background_paths, ignore_masks, training_fonts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m segpress.train.textstudent", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fit_parser = commands.add_parser("fit", help="train (or resume) into OUT")
    fit_parser.add_argument("out", type=Path)
    fit_parser.add_argument("--backgrounds", type=Path, nargs="+", required=True)
    fit_parser.add_argument("--exclude", type=Path)
    for name, value in asdict(FitSettings()).items():
        fit_parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    export_parser = commands.add_parser("export", help="write the checkpoint as ONNX with its metadata JSON")
    export_parser.add_argument("checkpoint", type=Path)
    export_parser.add_argument("onnx", type=Path)
    export_parser.add_argument("--scale", type=float, required=True, help="the working scale chosen for it")
    export_parser.add_argument("--threshold", type=float, required=True, help="core probability threshold")
    export_parser.add_argument("--unclip-ratio", type=float, required=True, help="how far cores grow back")
    args = parser.parse_args(argv)
    if args.command == "export":
        state_file = args.checkpoint.with_name("training.json")
        training = json.loads(state_file.read_text()) if state_file.is_file() else {}
        detection = {"scale": args.scale, "threshold": args.threshold, "unclip_ratio": args.unclip_ratio}
        export(args.checkpoint, args.onnx, detection, training)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    log_file = args.out / "train.log"

    def log(message: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {message}"
        print(line, flush=True)
        with log_file.open("a") as handle:
            handle.write(line + "\n")

    excluded = set(args.exclude.read_text().split()) if args.exclude else set()
    paths = [path for path in background_paths(args.backgrounds) if path.name not in excluded]
    backgrounds = Backgrounds(paths, _cached_masks(args.out / "ignore.npz", paths, log))
    settings = FitSettings(**{name: getattr(args, name) for name in asdict(FitSettings())})
    (args.out / "training.json").write_text(json.dumps({
        "settings": asdict(settings), "backgrounds": [str(folder) for folder in args.backgrounds],
        "background_count": len(paths), "excluded": sorted(excluded), "fonts": [path.name for path in training_fonts()],
    }, indent=2) + "\n")
    log(f"{len(paths)} backgrounds, {len(training_fonts())} fonts; {settings}")
    fit(args.out, backgrounds, training_fonts(), settings, log)
    return 0


def _cached_masks(cache: Path, paths: list[Path], log) -> dict[str, np.ndarray]:
    if cache.is_file():
        with np.load(cache) as stored:
            shapes = json.loads(str(stored["shapes"]))
            return {name: np.unpackbits(stored[f"m{i}"])[: shape[0] * shape[1]].reshape(shape).astype(bool)
                    for i, (name, shape) in enumerate(shapes.items())}
    log(f"finding the text already in {len(paths)} backgrounds (once)")
    masks = ignore_masks(paths)
    marked = np.mean([mask.mean() for mask in masks.values()])
    log(f"done: {100 * marked:.2f} % of background pixels marked as text and ignored")
    shapes = {name: list(mask.shape) for name, mask in masks.items()}
    np.savez_compressed(cache, shapes=json.dumps(shapes), **{f"m{i}": np.packbits(mask) for i, mask in enumerate(masks.values())})
    return masks


if __name__ == "__main__":
    sys.exit(main())
