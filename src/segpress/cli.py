"""Command line: a thin layer over ``segpress.api``; ``main(argv) -> int`` is what tests call.

Commands: ``compress`` (importance from --mask, --labels, or the segmentation model), ``segment``
(label map and overlay PNGs from the model), ``batch`` (whole folders and buckets, resumable:
``segpress.batch``), ``bench`` (RD curves, BD-rates and task fidelity on your images: ``segpress.bench``),
``inspect``, ``formats`` and ``serve`` (web page and HTTP API: ``segpress.server``).

Every user-fixable failure is one line on stderr (``error: ...``) and a non-zero exit code:
1 when some input failed, 2 for a bad command line or option.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import codecs
from .bench.settings import DEFAULT_FORMATS, DEFAULT_QUALITIES
from .cli_help import HelpCommand
from .cli_options import COMPRESS_OPTIONS, OptionValues, with_compress_options
from .cli_results import CompressProgress, ResultTable, baseline_notes, compress_columns, display_path, what_ran
from .codecs.base import DEFAULT_BG_QUALITY
from .errors import CodecError, OptionError, SegpressError
from .imageio import (
    DEFAULT_MAX_PIXELS,
    LABELS_SUFFIX,
    atomic_write,
    check_writable,
    companion_names,
    load_image,
    output_path,
)
from .options import CompressOptions, check_max_pixels, check_sources
from .text import DEFAULT_SCALE as DEFAULT_TEXT_SCALE

# What only a command needs is imported inside it: `segpress --version` and `--help` load no model
# runtime, codec library or SciPy (start-up time, README "Install").
if TYPE_CHECKING:
    from . import segmenters
    from .datasets import LabelSet

# Options several commands take, declared once so that their help reads the same everywhere (the
# compress options come from segpress.options, through cli_options).
PolicyOption = Annotated[str, typer.Option(help="Policy preset name or TOML/YAML file (class -> importance).")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
OverwriteOption = Annotated[bool, typer.Option(help="Replace existing output files (inputs are never replaced).")]
MaxPixelsOption = Annotated[int, typer.Option(help="Refuse images with more pixels (decompression bombs).")]
SegmenterOption = Annotated[Optional[Path], typer.Option(help="Segmentation model config (TOML/YAML); default: the shipped model.")]
TextOption = Annotated[Optional[bool], typer.Option("--text/--no-text", help="Add detected text (signs, plates, documents) to the importance, with the policy's text weight; needs segpress[text]. Default: as the policy says.", show_default=False)]
TextScaleOption = Annotated[Optional[float], typer.Option(help=f"Resolution the text detector runs at, relative to the image (default {DEFAULT_TEXT_SCALE}); higher finds smaller, fainter text at a cost that grows with its square. At the default it misses about half the 12-32 px lines on busy photos, which then read worse than with uniform JPEG; 1.5 finds about 85 % for 5 times the time (README, Text).", show_default=False)]


app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Semantic-segmentation-guided image compression: bytes where the picture matters.",
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help printed as written, in Click's plain layout (segpress.cli_help)
)
stdout = Console()
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


class InputFailed(Exception):
    """Some inputs failed; each was already reported on its own line."""


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


def _load_segmenter(segmenter: Path | None) -> tuple[segmenters.Segmenter, list[Path]]:
    """The model (loaded once, before any image) and its files, which no output may replace."""
    from . import segmenters

    if segmenter is None:
        return segmenters.default_segmenter(), []
    model = segmenters.load_segmenter(segmenter)
    return model, [segmenter, model.path]


def _pick(path: Path | None, image: Path, kind: str) -> Path | None:
    """A per-image mask or label file: the file itself, or the image's file in a folder (``companion_names``)."""
    if path is None or not path.is_dir():
        return path
    names = companion_names(image.stem, kind)
    for name in names:
        if (path / name).exists():
            return path / name
    raise OptionError(f"no {' or '.join(names)} in {path} for {image.name}")


@app.command(cls=HelpCommand)
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
    from . import api
    from .policy import load_policy
    from .text import detector_for as text_detector_for

    # Options are checked once, before any file: a bad option stops the run, a bad file does not.
    if quiet and (verbose or as_json):
        raise OptionError(f"--quiet prints nothing but errors: give it without {'--verbose' if verbose else '--json'}")
    many = len(inputs) > 1
    _check_streams(inputs, output, many)
    codec = _choose_codec(options["format"], output, many)
    chosen = CompressOptions(**{**options, "format": codec.name})
    check_sources(mask=mask, labels=labels, segmenter=segmenter, command_line=True)
    chosen_policy = load_policy(policy)
    # Loaded once, before any image: a missing segpress[text] or a bad --text-scale stops the run here.
    detector = text_detector_for(api.wants_text(text, chosen_policy), text_scale)
    use_model = mask is None and labels is None
    model, model_files = _load_segmenter(segmenter) if use_model else (None, [])
    # No output may replace an input of this run: images, masks, label maps, the policy or model files.
    policy_file = [Path(policy)] if Path(policy).is_file() else []
    targets = {source: output_path(source, output, codec.extensions[0], many=many) for source in inputs}
    report = stderr if output == STREAM else stdout  # with -o -, stdout carries the file
    table = ResultTable(report, "segpress compress", compress_columns(chosen.rate_control),
                        [display_path(target) for target in targets.values()])
    notes: list[str] = []  # rate-control misses and the results' notes (a fallback among them), under the table
    failures = 0
    written: dict[Path, Path] = {}  # output -> input, so two inputs never write the same file
    with CompressProgress(stderr, len(inputs), shown=not (quiet or as_json)) as progress:
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
                stderr.print(f"error: {message}", markup=False)
                continue
            finally:
                progress.advance()
            if verbose:
                stderr.print(f"{source} -> {target}: {what_ran(result)}", markup=False, highlight=False)
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


@app.command(cls=HelpCommand)
def segment(
    inputs: Annotated[list[Path], typer.Argument(metavar="IMAGE...", help="Images to label.", show_default=False)],
    output: Annotated[str, typer.Option("--output", "-o", help="Folder, or NAME.png for one input: writes NAME-labels.png and NAME-overlay.png.")],
    segmenter: SegmenterOption = None,
    text: Annotated[bool, typer.Option("--text/--no-text", help="Also detect text: outlined in the overlay, its share listed; needs segpress[text].")] = False,
    text_scale: TextScaleOption = None,
    overwrite: OverwriteOption = False,
    max_pixels: MaxPixelsOption = DEFAULT_MAX_PIXELS,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per image instead of a table.")] = False,
) -> None:
    """Label images with the segmentation model: a label map PNG and a colour overlay with a legend.

    NAME-labels.png is a palette PNG of taxonomy class indices (255 = no class), usable as
    `compress --labels`; NAME-overlay.png is the photo with class colours and a legend below it.
    """
    from .segmenters import render
    from .text import detector_for as text_detector_for

    many = len(inputs) > 1
    check_max_pixels(max_pixels)
    folder = _segment_folder(output, many)
    model, model_files = _load_segmenter(segmenter)
    detector = text_detector_for(text, text_scale)
    table = Table(title="segpress segment", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("labels", "classes (share of pixels)", "seconds"):
        table.add_column(column, overflow="fold", justify="right" if column == "seconds" else "left")
    failures = 0
    written: dict[Path, Path] = {}
    for source in inputs:
        try:
            targets = _segment_targets(source, output, folder, written, overwrite, [*inputs, *model_files])
            image = load_image(source, max_pixels=max_pixels)
            result = model.segment(image.pixels)
            shares = result.shares()
            found = None if detector is None else detector.detect(image.pixels)
            if found is not None:
                shares["text"] = found.share
            boxes = () if found is None else found.boxes
            pictures = (render.labels_png(result.labels), render.overlay_png(image.pixels, result.labels, shares, boxes))
            for target, data in zip(targets, pictures, strict=True):
                atomic_write(target, data, overwrite=overwrite, protect=[*inputs, *model_files])
                written[target.resolve()] = source
        except SegpressError as error:
            failures += 1
            stderr.print(f"error: {error}", markup=False)
            continue
        if as_json:
            stdout.print_json(json.dumps({
                "input": str(source), "labels": str(targets[0]), "overlay": str(targets[1]),
                "model": result.model, "width": result.width, "height": result.height,
                "seconds": result.seconds, "shares": shares,
                **({} if found is None else {"text": found.summary()}),
            }))
        else:
            top = ", ".join(f"{name} {100 * share:.0f}%" for name, share in list(shares.items())[:4] if share >= 0.005)
            if found is not None:
                top += f"; text {100 * found.share:.1f}% in {len(found.boxes)} boxes"
            table.add_row(escape(str(targets[0])), escape(top), f"{result.seconds:.2f}")
    if table.row_count and not as_json:
        stdout.print(table)
    if failures:
        raise InputFailed()


def _segment_targets(
    source: Path, output: str, folder: Path | None, written: dict[Path, Path], overwrite: bool, protect: list[Path]
) -> tuple[Path, Path]:
    """NAME-labels.png and NAME-overlay.png, both checked before either is written (never half a pair)."""
    stem, parent = (source.stem, folder) if folder is not None else (Path(output).stem, Path(output).parent)
    targets = (parent / f"{stem}{LABELS_SUFFIX}.png", parent / f"{stem}-overlay.png")
    for target in targets:
        if target.resolve() in written:
            raise OptionError(
                f"{target}: already written for {written[target.resolve()]} in this run; "
                "inputs with the same name need separate output folders"
            )
        check_writable(target, overwrite=overwrite, protect=protect)
    return targets


def _segment_folder(output: str, many: bool) -> Path | None:
    """The folder ``segment`` writes into, or None when ``-o`` is a NAME.png for a single input."""
    target = Path(output)
    if target.is_dir() or output.endswith(("/", "\\")) or not target.suffix:
        if target.exists() and not target.is_dir():
            raise OptionError(f"{output} is a file; -o must name a folder or NAME.png")
        return target
    if many:
        raise OptionError(f"{output}: with several inputs -o must name a folder")
    if target.suffix.lower() != ".png":
        raise OptionError(f"{output}: segment writes PNG files; give a folder or NAME.png")
    return None


@app.command(cls=HelpCommand)
def evaluate(
    images: Annotated[Path, typer.Argument(metavar="IMAGES", help="Folder of images.", show_default=False)],
    labels: Annotated[Path, typer.Argument(metavar="LABELS", help="Folder of label PNGs, same stems as the images.", show_default=False)],
    classes: Annotated[Path, typer.Option(help="Class names, one per line: line n names label value n (255 = unlabelled).")],
    mapping: Annotated[Optional[Path], typer.Option(help="TOML/YAML table: your class -> taxonomy class (default: names are taxonomy classes).")] = None,
    segmenter: SegmenterOption = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Folder for metrics.json and confusion.png.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace existing output files.")] = False,
) -> None:
    """Score the segmentation model on labelled images: IoU per class, mIoU, pixel accuracy."""
    from rich.progress import Progress

    from .datasets import folder_label_set, read_folder
    from .evaluation import confusion_png, evaluate_segmenter

    if output is not None:
        _need_extra("evaluate -o (confusion.png)", "bench", "matplotlib")
    model, _ = _load_segmenter(segmenter)
    _warn_unmapped(folder_label_set(classes, mapping), classes)
    dataset = read_folder(images, labels, classes, mapping)
    with Progress(console=stderr, transient=True, disable=not stderr.is_terminal) as progress:
        task = progress.add_task("evaluating", total=len(dataset))
        metrics = evaluate_segmenter(model, dataset, on_image=lambda: progress.advance(task))
    table = Table(title=f"segpress evaluate: {len(dataset)} images, {model.name}", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("class")
    table.add_column("IoU", justify="right")
    for name, iou in metrics["iou"].items():
        if iou is not None:
            table.add_row(name, f"{100 * iou:.1f}%")
    table.caption = f"mIoU {100 * metrics['miou']:.1f}%, pixel accuracy {100 * metrics['pixel_accuracy']:.1f}%"
    table.caption_justify = "left"
    stdout.print(table)
    if output is not None:
        report = {"images": len(dataset), "model": model.name, **metrics}
        atomic_write(output / "metrics.json", json.dumps(report, indent=1).encode(), overwrite=overwrite)
        title = f"{model.name} on {images.name}"
        png = confusion_png(metrics["confusion"], metrics["classes"], title)
        atomic_write(output / "confusion.png", png, overwrite=overwrite)
        stdout.print(f"wrote {output / 'metrics.json'} and {output / 'confusion.png'}", markup=False, highlight=False)


def _need_extra(what: str, extra: str, *modules: str) -> None:
    """One error line naming the extra to install when a command needs modules the base install lacks."""
    import importlib.util

    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise OptionError(f"{what} needs the {extra} extra: pip install 'segpress[{extra}]' ({module} is missing)")


def _warn_unmapped(label_set: LabelSet, classes: Path) -> None:
    """A partial --mapping leaves classes out of the score: say which, as a partial map scores fewer."""
    if label_set.unmapped:
        count = len(label_set.unmapped)
        stderr.print(f"warning: {count} class{'es' if count > 1 else ''} of {classes.name} not in the mapping "
                     f"{'are' if count > 1 else 'is'} not scored ({'their' if count > 1 else 'its'} pixels are ignored): "
                     f"{', '.join(label_set.unmapped)}", markup=False, highlight=False)


@app.command(cls=HelpCommand)
def bench(
    inputs: Annotated[list[Path], typer.Argument(metavar="PATH...", help="Images, or folders of images.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for results.json, report.md/.html, plots/, crops/.")],
    labels: Annotated[Optional[Path], typer.Option(help="Folder of ground-truth label PNGs (<image stem>.png): the important region is judged by them.")] = None,
    classes: Annotated[Optional[Path], typer.Option(help="Class names of the label values, one per line (255 = unlabelled); with --labels.")] = None,
    mapping: Annotated[Optional[Path], typer.Option(help="TOML/YAML table: label class -> taxonomy class (default: names are taxonomy classes).")] = None,
    formats: Annotated[str, typer.Option("--formats", help="Comma-separated formats.")] = ",".join(DEFAULT_FORMATS),
    qualities: Annotated[str, typer.Option(help="Comma-separated qualities of the sweep (roi quality in the semantic mode).")] = ",".join(map(str, DEFAULT_QUALITIES)),
    bg_quality: Annotated[int, typer.Option(help="Background quality of the semantic mode (min of it and the roi quality).")] = DEFAULT_BG_QUALITY,
    policy: PolicyOption = "default",
    segmenter: SegmenterOption = None,
    workers: Annotated[int, typer.Option(help="Worker processes (images in parallel).")] = 2,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N images (a quick check).")] = None,
    crops: Annotated[bool, typer.Option("--crops/--no-crops", help="Crops of the best and worst images in the report; --no-crops for data whose pixels you may not pass on.")] = True,
    cache: Annotated[Optional[Path], typer.Option(help="Folder of per-image records, reused by a re-run; default OUTPUT/cache.")] = None,
    max_pixels: MaxPixelsOption = DEFAULT_MAX_PIXELS,
) -> None:
    """Measure uniform and semantic coding on your images: RD curves, BD-rates, task fidelity, reports.

    Interrupted runs resume: every (image, format) measured is cached. Bad files are listed in the report and the run goes on; exit code 1 when any failed.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    _need_extra("segpress bench", "bench", "skimage", "matplotlib")
    from .bench import BenchSettings, Labels, run_bench
    from .bench.report import console_table
    from .bench.settings import parse_list, parse_qualities

    if (labels is None) != (classes is None):
        raise OptionError("--labels and --classes go together")
    if mapping is not None and labels is None:
        raise OptionError("--mapping needs --labels and --classes")
    settings = BenchSettings(
        formats=parse_list(formats, "--formats"), qualities=parse_qualities(qualities), bg_quality=bg_quality,
        policy=policy, segmenter=None if segmenter is None else str(segmenter), max_pixels=max_pixels,
        labels=None if labels is None else Labels.load(labels, classes, mapping),
    )
    if settings.labels is not None:
        _warn_unmapped(settings.labels.label_set, classes)
    columns = (TextColumn("measuring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=stderr, transient=True, disable=not stderr.is_terminal) as progress:
            task = progress.add_task("images", total=None)
            outcome = run_bench(
                inputs, settings, output, cache_folder=cache, workers=workers, limit=limit, crops=crops,
                command=" ".join(["segpress", *sys.argv[1:]]) if sys.argv[1:2] == ["bench"] else None,
                on_start=lambda total: progress.update(task, total=total),
                on_image=lambda name: progress.advance(task),
            )
    except KeyboardInterrupt:
        stderr.print("the images measured so far are cached: the same command resumes the run", markup=False)
        raise
    stdout.print(console_table(outcome.results))
    stdout.print(f"{outcome.measured} records measured, {outcome.cached} from the cache; wrote "
                 f"{output / 'results.json'}, {output / 'report.md'}, {output / 'report.html'}", markup=False, highlight=False)
    for failure in outcome.failures:
        stderr.print(f"error: {failure.path}: {failure.error}", markup=False)
    if outcome.failures:
        raise InputFailed()


@app.command(cls=HelpCommand)
def inspect(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A file written by segpress.")],
    map_png: Annotated[Optional[Path], typer.Option(help="Write the embedded importance map as a PNG.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing PNG.")] = False,
) -> None:
    """Show what a file holds: format, size, bpp, JPEG quality, and the importance map embedded by
    compress --keep-map (the qualities and classes it protected)."""
    from .inspection import inspect_file

    report = inspect_file(file)
    table = Table(show_header=False, title=escape(str(file)), title_justify="left")
    for key, value in report.rows():
        table.add_row(escape(key), escape(value))
    stdout.print(table)
    if map_png is not None:
        if report.map is None:
            # What the file holds is shown above; the missing map is news, not a failure of the command.
            stderr.print(f"note: {file.name} holds no importance map (it was compressed without --keep-map): "
                         f"{map_png} not written", markup=False, highlight=False)
            return
        atomic_write(map_png, report.map_png(), overwrite=overwrite, protect=[file])
        stdout.print(f"importance map written to {map_png}", markup=False, highlight=False)


@app.command(cls=HelpCommand)
def formats() -> None:
    """List the codecs and policies this installation has."""
    from . import segmenters
    from .policy import available_policies
    from .text import describe as describe_text_detector

    names = codecs.available_names()
    width = max(map(len, names), default=0)
    for name in names:
        codec = codecs.get(name)
        stdout.print(f"{name:{width}}  {', '.join(codec.extensions):24} {codec.version()}",
                     markup=False, highlight=False, soft_wrap=True)
    stdout.print(f"policies: {', '.join(available_policies())}")
    stdout.print(f"segmenter: {segmenters.describe_shipped()}", markup=False, highlight=False)
    stdout.print(f"text detector: {describe_text_detector()}", markup=False, highlight=False)


@app.command(cls=HelpCommand)
@with_compress_options({
    "format": {"help": f"{', '.join(codecs.names())} (`segpress formats`: those installed)."},
    "target_size": {"help": "Byte budget per file (40000, 40KB, 1.5MB, 40KiB)."},
    "target_roi_psnr": {"help": "PSNR (dB) inside the important region, at --bg-quality."},
})
def batch(
    source: Annotated[str, typer.Argument(metavar="SRC", help="Folder, glob or file: a local path or an fsspec URL (s3://bucket/photos).", show_default=False)],
    destination: Annotated[str, typer.Argument(metavar="DST", help="Folder (path or URL) that gets the outputs, in the source's layout.", show_default=False)],
    policy: PolicyOption = "default",
    workers: Annotated[Optional[int], typer.Option(help="Worker processes (local) or segmentation actors (ray); default: the CPUs available.")] = None,
    engine: Annotated[str, typer.Option(help="local (processes on this machine) or ray (a Ray Data pipeline; needs the ray extra).")] = "local",
    ray_address: Annotated[Optional[str], typer.Option(help="A running Ray cluster (host:port, ray://host:10001, auto); default: start a local one.")] = None,
    manifest: Annotated[Optional[Path], typer.Option(help="The JSONL manifest (local file); default DST/segpress-manifest.jsonl.")] = None,
    storage_option: Annotated[Optional[list[str]], typer.Option(metavar="KEY=VALUE", help="fsspec option KEY=VALUE for the URLs (endpoint_url=..., anon=true); repeatable.")] = None,
    mask: Annotated[Optional[str], typer.Option(help="Folder of importance masks mirroring the source: <relative path>.png per image.")] = None,
    labels: Annotated[Optional[str], typer.Option(help="Folder of label maps mirroring the source: <relative path>.png or <relative path>-labels.png (as segment writes) per image.")] = None,
    segmenter: SegmenterOption = None,
    text: TextOption = None,
    text_scale: TextScaleOption = None,
    options: OptionValues = COMPRESS_OPTIONS,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as one JSON object instead of a table.")] = False,
) -> None:
    """Compress a whole folder, glob or bucket into DST, mirroring its layout; run it again to resume.

    Every input's outcome goes to a manifest (JSONL); a re-run skips what is done under the same
    settings. Bad inputs are recorded and skipped: exit code 1 when any failed, 130 after Ctrl-C.
    """
    from .batch import job_settings, run_batch
    from .batch.report import ProgressBar, print_failures, summary_table
    from .batch.storage import parse_storage_options

    settings = job_settings(
        policy=policy, segmenter=segmenter, mask=mask, labels=labels, text=text, text_scale=text_scale, **options
    )
    with ProgressBar(stderr) as progress:
        summary = run_batch(
            source, destination, settings, engine=engine, workers=workers, manifest=manifest,
            storage_options=parse_storage_options(storage_option or []), ray_address=ray_address, observer=progress,
        )
    if as_json:
        stdout.print_json(json.dumps(summary.to_dict()))
    else:
        stdout.print(summary_table(summary))
    print_failures(summary, stderr)
    if summary.exit_code:
        raise typer.Exit(summary.exit_code)


@app.command(cls=HelpCommand)
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on; 0.0.0.0 for every interface (no authentication!).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="TCP port.", min=1, max=65535)] = 8000,
    max_upload: Annotated[str, typer.Option(help="Largest upload: bytes, or 32MB, 500KB, 8MiB.")] = "32MB",
    max_pixels: MaxPixelsOption = 40_000_000,
    workers: Annotated[Optional[int], typer.Option(help="Segmentations and encodes at once (default: the cores, at most 4).")] = None,
    queue: Annotated[int, typer.Option(help="Requests that may wait for a worker; beyond that: 503.")] = 64,
    timeout: Annotated[float, typer.Option(help="Seconds a request may wait for and use a worker.")] = 60.0,
    memory: Annotated[str, typer.Option(help="Memory the server stays under: 3GB, 1500MB... Work is admitted by its pixel count (about 32 bytes per pixel for JPEG, 48 for other formats, plus 64 MB a job); a job waits until its memory is free; one that needs more than the budget leaves for work (the budget less 0.4 GB for the process and 0.5 GB for kept images) is refused with 413.")] = "3GB",
    segmenter: SegmenterOption = None,
    allowed_host: Annotated[Optional[list[str]], typer.Option("--allowed-host", metavar="NAME", help="A host name clients may use (the Host header; repeatable); localhost, 127.0.0.1 and [::1] always. Default: those only on 127.0.0.1, any name on other addresses.", show_default=False)] = None,
) -> None:
    """Serve the web page (drop a photo, weigh its classes, compare) and the HTTP API (/docs)."""
    try:
        from . import server
    except ImportError as error:
        raise OptionError(f"segpress serve needs the serve extra: pip install 'segpress[serve]' ({error.name} is missing)") from None
    from .ratecontrol import parse_size

    sizes = {} if workers is None else {"workers": workers}
    allowed_hosts = server.allowed_hosts_for(host, allowed_host or ())
    limits = server.ServerLimits(max_upload_bytes=parse_size(max_upload), max_pixels=max_pixels, queue=queue,
                                 timeout=timeout, allowed_hosts=allowed_hosts, memory=parse_size(memory), **sizes)
    model, _ = _load_segmenter(segmenter)
    _check_listen(host, port)
    if host not in ("127.0.0.1", "localhost", "::1"):
        names = ", by any host name (--allowed-host NAME to accept only the names given)" if "*" in allowed_hosts else ""
        stderr.print(f"note: listening on {host}: anyone who can reach it can use this server{names}", markup=False)
    server.serve(host, port, limits, model)


def _check_listen(host: str, port: int) -> None:
    """One line, not uvicorn's traceback, when the address cannot be had (in use, not this machine's)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(infos[0][4])
    except OSError as error:
        raise OptionError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        from . import __version__

        stdout.print(f"segpress {__version__}")
        raise typer.Exit()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code instead of exiting (for tests and embedding)."""
    try:
        # Outside standalone mode typer returns the code of an exit instead of raising it, and turns
        # Ctrl-C into exit code 130.
        code = app(args=argv, prog_name="segpress", standalone_mode=False)
    except InputFailed:
        return 1
    except OptionError as error:
        stderr.print(f"error: {error}", markup=False)
        return 2
    except SegpressError as error:
        stderr.print(f"error: {error}", markup=False)
        return 1
    except typer.Exit as done:
        return done.exit_code
    except (typer.Abort, KeyboardInterrupt):
        stderr.print("error: interrupted")
        return 130
    except typer.TyperException as error:  # usage errors: unknown option, missing argument...
        stderr.print(f"error: {error.format_message()}", markup=False)
        return 2
    if code == 130:
        stderr.print("error: interrupted")
    return code if isinstance(code, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
