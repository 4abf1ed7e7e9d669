"""Command line: a thin layer over ``segpress.api``; ``main(argv) -> int`` is what tests call.

Every user-fixable failure is one line on stderr (``error: ...``) and a non-zero exit code:
1 when some input failed, 2 for a bad command line or option.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import __version__, api, codecs
from .errors import OptionError, SegpressError
from .imageio import DEFAULT_MAX_PIXELS, atomic_write, output_path
from .policy import available_policies, load_policy

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Semantic-segmentation-guided image compression: bytes where the picture matters.",
    pretty_exceptions_enable=False,
)
stdout = Console()
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


class InputFailed(Exception):
    """Some inputs failed; each was already reported on its own line."""


def _length(text: str | None, option: str) -> float | None:
    """``"8"`` or ``"8px"`` -> 8 pixels; ``"2%"`` -> 0.02 (a fraction of the image size).

    The API reads values >= 1 as pixels and values in (0, 1) as fractions, so a percentage must stay
    below 100% and a pixel count must be 0 or at least 1, or the value would change meaning.
    """
    if text is None:
        return None
    value = text.strip().lower()
    percent = value.endswith("%")
    try:
        number = float(value[:-1] if percent else value.removesuffix("px"))
    except ValueError:
        raise OptionError(
            f"{option}: cannot read length {text!r}: give pixels (12 or 12px) or a percentage (2%)"
        ) from None
    if not math.isfinite(number) or number < 0:
        raise OptionError(f"{option} must be a non-negative length, got {text!r}")
    if percent:
        if number >= 100:
            raise OptionError(f"{option} {text!r}: a percentage must be below 100%")
        return number / 100.0
    if 0 < number < 1:
        raise OptionError(f"{option} {text!r}: give 0 or at least 1 pixel, or a percentage")
    return number


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
            raise OptionError(f"cannot tell the format from {target.suffix!r}: use .jpg or .jxl, or --format")
        return by_extension or codecs.get("jpeg")
    codec = codecs.get(format)
    if by_extension is not None and by_extension is not codec:
        raise OptionError(f"--format {codec.name} does not match the output name {target.name}")
    return codec


def _check_sources(mask: Path | None, labels: Path | None, max_pixels: int) -> None:
    if mask is None and labels is None:
        raise OptionError(
            "no importance source: pass --mask FILE or --labels FILE "
            "(the default segmentation model is not shipped yet)"
        )
    if mask is not None and labels is not None:
        raise OptionError("give one importance source: --mask or --labels, not both")
    if max_pixels < 1:
        raise OptionError(f"--max-pixels must be at least 1, got {max_pixels}")


def _pick(path: Path | None, image: Path, many: bool) -> Path | None:
    """A per-image mask or label file: the file itself, or ``DIR/<image stem>.png`` for a folder."""
    if path is None or not path.is_dir():
        return path
    candidate = path / f"{image.stem}.png"
    if not candidate.exists():
        raise OptionError(f"no {candidate.name} in {path} for {image.name}")
    return candidate


@app.command()
def compress(
    inputs: Annotated[list[Path], typer.Argument(help="Images to compress.", show_default=False)],
    output: Annotated[str, typer.Option("--output", "-o", help="Output file, or folder (several inputs, or ending in /).")],
    format: Annotated[Optional[str], typer.Option("--format", "-f", help="jpeg or jxl; default from -o's extension, else jpeg.")] = None,
    mask: Annotated[Optional[Path], typer.Option(help="Importance mask image (1-bit, grey or alpha), or a folder of <name>.png.")] = None,
    labels: Annotated[Optional[Path], typer.Option(help="Label map PNG in segpress taxonomy indices, or a folder of <name>.png.")] = None,
    policy: Annotated[str, typer.Option(help="Policy preset name or TOML/YAML file (class -> importance).")] = "default",
    roi_quality: Annotated[int, typer.Option(help="Quality (1-100) where importance is 1.")] = api.DEFAULT_ROI_QUALITY,
    bg_quality: Annotated[int, typer.Option(help="Quality (1-100) where importance is 0.")] = api.DEFAULT_BG_QUALITY,
    progressive: Annotated[bool, typer.Option("--progressive/--baseline", help="Progressive (smaller) or baseline JPEG.")] = True,
    subsampling: Annotated[str, typer.Option(help="Chroma subsampling: 4:2:0 or 4:4:4.")] = "4:2:0",
    margin: Annotated[Optional[str], typer.Option(help="Grow important regions: pixels (8) or % of the image (2%).")] = None,
    feather: Annotated[Optional[str], typer.Option(help="Soft edge width: pixels or %.")] = None,
    min_area: Annotated[Optional[str], typer.Option(help="Drop important regions smaller than this: pixels or % of the area.")] = None,
    strip: Annotated[bool, typer.Option(help="Remove ICC profile and EXIF.")] = False,
    keep_map: Annotated[bool, typer.Option(help="Embed the importance map (see `segpress inspect`).")] = False,
    compare: Annotated[bool, typer.Option("--compare/--no-compare", help="Measure the uniform encode with the same PSNR inside.")] = True,
    overwrite: Annotated[bool, typer.Option(help="Replace existing output files (inputs are never replaced).")] = False,
    max_pixels: Annotated[int, typer.Option(help="Refuse images with more pixels (decompression bombs).")] = DEFAULT_MAX_PIXELS,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per file instead of a table.")] = False,
) -> None:
    """Compress images: full quality where it matters, far fewer bytes elsewhere."""
    # Options are checked once, before any file: a bad option stops the run, a bad file does not.
    many = len(inputs) > 1
    codec = _choose_codec(format, output, many)
    api.encode_settings(roi_quality, bg_quality, progressive, subsampling)
    _check_sources(mask, labels, max_pixels)
    options = dict(
        policy=load_policy(policy), format=codec.name, roi_quality=roi_quality, bg_quality=bg_quality,
        progressive=progressive, subsampling=subsampling, strip=strip, keep_map=keep_map,
        margin=_length(margin, "--margin"), feather=_length(feather, "--feather"),
        min_area=_length(min_area, "--min-area"),
        compare=compare, max_pixels=max_pixels,
    )
    # No output may replace an input of this run: images, masks, label maps or the policy file.
    policy_file = [Path(policy)] if Path(policy).is_file() else []
    table = _result_table()
    failures = 0
    written: dict[Path, Path] = {}  # output -> input, so two inputs never write the same file
    for source in inputs:
        try:
            target = output_path(source, output, codec.extensions[0], many=many)
            if target.resolve() in written:
                raise OptionError(
                    f"{target}: already written for {written[target.resolve()]} in this run; "
                    "inputs with the same name need separate output folders"
                )
            mask_file, labels_file = _pick(mask, source, many), _pick(labels, source, many)
            result = api.compress(source, mask=mask_file, labels=labels_file, **options)
            protect = [*inputs, *policy_file, *(p for p in (mask_file, labels_file) if p is not None)]
            atomic_write(target, result.data, overwrite=overwrite, protect=protect)
            written[target.resolve()] = source
        except SegpressError as error:
            failures += 1
            stderr.print(f"error: {error}", markup=False)
            continue
        if as_json:
            stdout.print_json(json.dumps({"input": str(source), "output": str(target), **result.summary()}))
        else:
            _add_row(table, target, result)
    if table.row_count and not as_json:
        stdout.print(table)
    if failures:
        raise InputFailed()


def _result_table() -> Table:
    table = Table(title="segpress compress", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("output", "bytes", "bpp", "PSNR in", "PSNR out", "ROI", "uniform *", "saving"):
        if column == "output":
            table.add_column(column, overflow="fold")
        else:
            table.add_column(column, justify="right", no_wrap=True)
    table.caption = "PSNR in dB inside / outside the important region (ROI); * uniform encode with the same PSNR in"
    table.caption_justify = "left"
    return table


def _add_row(table: Table, target: Path, result: api.CompressResult) -> None:
    if result.uniform_size is None:
        uniform, saving = "-", "-"
    else:
        prefix = "" if result.uniform_reached else ">"  # even quality 100 did not reach: a lower bound
        uniform = f"{prefix}{result.uniform_size:,.0f}"
        saving = f"{prefix}{100 * result.saving:.1f}%"
    table.add_row(
        escape(str(target)),
        f"{result.size:,}",
        f"{result.bpp:.3f}",
        _db(result.psnr_inside),
        _db(result.psnr_outside),
        f"{100 * result.important_fraction:.0f}%",
        uniform,
        saving,
    )


def _db(value: float) -> str:
    return "-" if math.isnan(value) else ("inf" if math.isinf(value) else f"{value:.2f}")


@app.command()
def inspect(
    file: Annotated[Path, typer.Argument(help="A file written by segpress (JPEG or JPEG XL).")],
    map_png: Annotated[Optional[Path], typer.Option(help="Write the embedded importance map as a PNG.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing PNG.")] = False,
) -> None:
    """Show size, bpp and the embedded importance map (from --keep-map) of a file."""
    from .inspection import inspect_file

    report = inspect_file(file)
    table = Table(show_header=False, title=escape(str(file)), title_justify="left")
    for key, value in report.rows():
        table.add_row(escape(key), escape(value))
    stdout.print(table)
    if map_png is not None:
        if report.map is None:
            raise OptionError(f"{file.name} carries no importance map (compress with --keep-map)")
        atomic_write(map_png, report.map_png(), overwrite=overwrite, protect=[file])
        stdout.print(f"importance map written to {map_png}", markup=False, highlight=False)


@app.command()
def formats() -> None:
    """List the codecs and policies this installation has."""
    for name in codecs.names():
        codec = codecs.get(name)
        stdout.print(f"{name:6} {', '.join(codec.extensions):24} {codec.version()}")
    stdout.print(f"policies: {', '.join(available_policies())}")


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
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
