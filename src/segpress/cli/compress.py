"""``segpress compress``: images in, smaller files out, a row per file as it finishes."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .. import codecs
from ..errors import CodecError, OptionError, SegpressError
from ..imageio import atomic_write, companion_names, output_path
from ..options import CompressOptions, check_sources
from . import console
from .console import InputFailed
from .results import CompressProgress, ResultTable, baseline_notes, compress_columns, display_path, what_ran
from .shared import OverwriteOption, PolicyOption, QuietOption, TextOption, TextScaleOption, load_segmenter
from .typer_options import COMPRESS_OPTIONS, OptionValues, with_compress_options


def _choose_codec(format: str | None, output: str, many: bool) -> codecs.Codec:
    """The codec from ``--format`` or the output's extension; a file name must agree with it."""
    target = Path(output)
    if many or output.endswith(("/", "\\")) or target.is_dir():
        if many and target.exists() and not target.is_dir():
            raise OptionError(f"{output} is a file; with several inputs -o must name a folder")
        return codecs.get(format or "jpeg")
    by_extension = codecs.for_path(target)
    if format is None:
        if by_extension is None and target.suffix:
            raise OptionError(
                f"cannot tell the format from {target.suffix!r}: use {_known_extensions()}, or --format"
            )
        return by_extension or codecs.get("jpeg")
    codec = codecs.get(format)
    # A name another format writes must not hide this one (out.jpg with --format webp); a name no format
    # claims is written as asked. Two codecs may share an extension (jxl, jxl-pixels: both .jxl).
    if by_extension is not None and target.suffix.lower() not in codec.extensions:
        raise OptionError(f"--format {codec.name} does not match the output name {target.name}")
    return codec


def _known_extensions() -> str:
    """Every extension the installed codecs write, in registry order, each once."""
    found = dict.fromkeys(extension for name in codecs.available_names() for extension in codecs.get(name).extensions)
    return ", ".join(found)


def _pick(path: Path | None, image: Path, kind: str) -> Path | None:
    """A per-image mask or label file: the file itself, or the image's file in a folder (``companion_names``)."""
    if path is None or not path.is_dir():
        return path
    names = companion_names(image.stem, kind)
    for name in names:
        if (path / name).exists():
            return path / name
    raise OptionError(f"no {' or '.join(names)} in {path} for {image.name}")


@with_compress_options({"format": {"default": None, "help": f"{', '.join(codecs.names())} (`segpress formats`: those installed); default from -o's extension, else jpeg."}})
def compress(
    inputs: Annotated[list[Path], typer.Argument(metavar="IMAGE...", help="Images to compress; - reads one from stdin.", show_default=False)],
    output: Annotated[str, typer.Option("--output", "-o", help="Output file, or folder (several inputs, or ending in /); - writes the file to stdout (the table goes to stderr).")],
    mask: Annotated[Optional[Path], typer.Option(help="Importance mask image (1-bit, grey or alpha), or a folder of <name>.png.")] = None,
    labels: Annotated[Optional[Path], typer.Option(help="Label map PNG in segpress taxonomy indices, or a folder of <name>.png or <name>-labels.png (as segment writes).")] = None,
    segmenter: Annotated[Optional[Path], typer.Option(help="Segmentation model config (TOML/YAML) used without --mask/--labels; default: the shipped model.")] = None,
    policy: PolicyOption = "default",
    text: TextOption = None,
    text_scale: TextScaleOption = None,
    options: OptionValues = COMPRESS_OPTIONS,
    overwrite: OverwriteOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per file instead of a table.")] = False,
    quiet: QuietOption = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also say, per file, which encodes ran and what they took (on stderr).")] = False,
) -> None:
    """Compress images: full quality where it matters, far fewer bytes elsewhere.

    What matters comes from --mask or --labels when given, otherwise from the segmentation model
    weighed by --policy; --text adds detected text. Each file's row is printed as it finishes.
    """
    from .. import api
    from ..policy import load_policy
    from ..text import detector_for as text_detector_for

    # Options are checked once, before any file: a bad option stops the run, a bad file does not.
    if quiet and (verbose or as_json):
        raise OptionError(f"--quiet prints nothing but errors: give it without {'--verbose' if verbose else '--json'}")
    many = len(inputs) > 1
    _check_streams(inputs, output, many)
    codec = _choose_codec(options["format"], output, many)
    chosen = CompressOptions(**{**options, "format": codec.name})
    check_sources(mask=mask, labels=labels, segmenter=segmenter, command_line=True)
    chosen_policy = load_policy(policy)
    # Loaded once, before any image: a bad --text-scale stops the run here.
    detector = text_detector_for(api.wants_text(text, chosen_policy), text_scale, policy_scale=chosen_policy.text_scale)
    use_model = mask is None and labels is None
    model, model_files = load_segmenter(segmenter) if use_model else (None, [])
    # No output may replace an input of this run: images, masks, label maps, the policy or model files.
    policy_file = [Path(policy)] if Path(policy).is_file() else []
    targets = {source: output_path(source, output, codec.extensions[0], many=many) for source in inputs}
    report = console.stderr if output == STREAM else console.stdout  # with -o -, stdout carries the file
    table = ResultTable(report, "segpress compress", compress_columns(chosen.rate_control),
                        [display_path(target) for target in targets.values()])
    notes: list[str] = []  # rate-control misses and the results' notes (a fallback among them), under the table
    failures = 0
    written: dict[Path, Path] = {}  # output -> input, so two inputs never write the same file
    with CompressProgress(console.stderr, len(inputs), shown=not (quiet or as_json)) as progress:
        for source in inputs:
            progress.now(source)
            target = targets[source]
            try:
                if target.resolve() in written:
                    raise OptionError(
                        f"{target}: already written for {written[target.resolve()]} in this run; "
                        "inputs with the same name need separate output folders"
                    )
                mask_file, labels_file = _pick(mask, source, "mask"), _pick(labels, source, "labels")
                result = api.compress(_read_input(source), mask=mask_file, labels=labels_file, segmenter=model,
                                      policy=chosen_policy, text=detector or False, options=chosen)
                protect = [*inputs, *policy_file, *model_files, *(p for p in (mask_file, labels_file) if p is not None)]
                _write_output(target, result.data, overwrite=overwrite, protect=protect)
                written[target.resolve()] = source
            except SegpressError as error:
                failures += 1
                # A codec cannot know the file it was given; every other error starts with the file's name.
                message = f"{source}: {error}" if isinstance(error, CodecError) else str(error)
                if str(source) == STREAM:
                    message = message.replace(STREAM_NAME_IN_ERRORS, "stdin")
                console.stderr.print(f"error: {message}", markup=False)
                continue
            finally:
                progress.advance()
            if verbose:
                console.stderr.print(f"{source} -> {target}: {what_ran(result)}", markup=False, highlight=False)
            if as_json:
                report.print_json(json.dumps({"input": str(source), "output": str(target), **result.summary()}))
            elif not quiet:
                table.add(target, result)
                if result.rate_note:
                    notes.append(f"note: {display_path(target)}: target not met within tolerance: {result.rate_note}")
                notes += [f"note: {display_path(target)}: {note}" for note in (*result.notes, *baseline_notes(result))]
    if not (quiet or as_json):
        table.finish(notes)
    if failures:
        raise InputFailed()


STREAM = "-"  # as an input: stdin; as -o: stdout (as cjpeg, cwebp and ImageMagick take it)
STREAM_NAME_IN_ERRORS = "<bytes>"  # how load_image names bytes it was handed


def _check_streams(inputs: list[Path], output: str, many: bool) -> None:
    """stdin and stdout carry one image each: - once among the inputs, -o - with one input, and an image
    from stdin needs an output name (no name to derive one from)."""
    from_stdin = sum(str(source) == STREAM for source in inputs)
    if from_stdin > 1:
        raise OptionError("stdin (-) can be read once: give - at most once")
    if output == STREAM and many:
        raise OptionError("-o - writes one file to stdout: give one input")
    if from_stdin and output != STREAM and (many or output.endswith(("/", "\\")) or Path(output).is_dir()):
        raise OptionError("an image from stdin (-) has no name to give its output: -o FILE or -o -")


def _read_input(source: Path) -> Path | bytes:
    return sys.stdin.buffer.read() if str(source) == STREAM else source


def _write_output(target: Path, data: bytes, *, overwrite: bool, protect: list[Path]) -> None:
    if str(target) == STREAM:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        atomic_write(target, data, overwrite=overwrite, protect=protect)
