"""``python -m segpress.train``: train from a TOML config, or export a checkpoint to ONNX."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from segpress.errors import OptionError, SegpressError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m segpress.train", description="Train the segmenter from a TOML config, or export it to ONNX."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train_parser = commands.add_parser("train", help="train the segmenter as a TOML config says")
    train_parser.add_argument("config")
    train_parser.add_argument("--resume", action="store_true", help="continue from OUTPUT_DIR/last.pt")
    train_parser.add_argument(
        "--no-val", action="store_true", help="skip the per-epoch evaluation (best.pt is then the last epoch)"
    )
    teach_parser = commands.add_parser("teach", help="cache the teachers' targets for the photos a config's [teach] names")
    teach_parser.add_argument("config")
    score_parser = commands.add_parser(
        "score", help="evaluate a checkpoint on a config's val data and record the metrics in a copy of it"
    )
    score_parser.add_argument("config")
    score_parser.add_argument("checkpoint")
    score_parser.add_argument("output")
    score_parser.add_argument("--overwrite", action="store_true")
    heldout_parser = commands.add_parser(
        "heldout", help="write the held-out photos with the teachers' labels as a folder for segpress evaluate"
    )
    heldout_parser.add_argument("config")
    heldout_parser.add_argument("output")
    export_parser = commands.add_parser("export", help="export a checkpoint to ONNX plus a metadata JSON")
    export_parser.add_argument("checkpoint")
    export_parser.add_argument("onnx")
    export_parser.add_argument("--overwrite", action="store_true")
    export_parser.add_argument(
        "--int8", metavar="CONFIG", help="write the int8 network, calibrated on this training config's images"
    )
    args = parser.parse_args(argv)
    # Imported here so that --help answers without loading torch.
    from segpress.train.config import load_config
    from segpress.train.export import export_checkpoint
    from segpress.train.loop import score, train
    from segpress.train.photos import teach, write_teacher_dataset
    from segpress.train.quantize import calibration_images

    try:
        if args.command == "train":
            overrides = {"resume": True} if args.resume else {}
            train(load_config(args.config, **overrides), validate=not args.no_val)
        elif args.command == "score":
            record = score(load_config(args.config), args.checkpoint, args.output, overwrite=args.overwrite)
            for name, metrics in record["val"].items():
                print(f"{name}: mIoU {metrics['miou']:.3f}, pixel accuracy {metrics['pixel_accuracy']:.3f}")
        elif args.command == "heldout":
            config = load_config(args.config)
            if config.teach is None:
                raise OptionError(f"{args.config}: no [teach] table")
            count = write_teacher_dataset(config.teach, "heldout", Path(args.output))
            print(f"{count} held-out photos in {args.output}: segpress evaluate {args.output}/images "
                  f"{args.output}/labels --classes {args.output}/classes.txt")
        elif args.command == "teach":
            config = load_config(args.config)
            if config.teach is None:
                raise OptionError(f"{args.config}: no [teach] table")
            counts = teach(config.teach)
            print(f"{counts['photos']} photos: {counts['made']} taught, {counts['skipped']} already cached in {config.teach.cache}")
        else:
            calibration = calibration_images(load_config(args.int8)) if args.int8 else None
            export_checkpoint(args.checkpoint, args.onnx, overwrite=args.overwrite, int8_calibration=calibration)
    except SegpressError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2 if isinstance(e, OptionError) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
