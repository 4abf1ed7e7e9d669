"""What several commands share: options declared once, the segmentation model, missing extras."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from ..errors import OptionError
from ..text import DEFAULT_SCALE as DEFAULT_TEXT_SCALE
from . import console

# What only a command needs is imported inside it: `segpress --version` and `--help` load no model
# runtime, codec library or SciPy (start-up time, README "Install").
if TYPE_CHECKING:
    from .. import segmenters
    from ..datasets import LabelSet

# Options several commands take, declared once so that their help reads the same everywhere (the
# compress options come from segpress.options, through cli.typer_options).
PolicyOption = Annotated[str, typer.Option(help="Policy preset name or TOML/YAML file (class -> importance).")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
OverwriteOption = Annotated[bool, typer.Option(help="Replace existing output files (inputs are never replaced).")]
MaxPixelsOption = Annotated[int, typer.Option(help="Refuse images with more pixels (decompression bombs).")]
SegmenterOption = Annotated[Optional[Path], typer.Option(help="Segmentation model config (TOML/YAML); default: the shipped model.")]
TextOption = Annotated[Optional[bool], typer.Option("--text/--no-text", help="Add detected text (signs, plates, documents) to the importance, with the policy's text weight. Default: as the policy says.", show_default=False)]
TextScaleOption = Annotated[Optional[float], typer.Option(help=f"Resolution the text detector runs at, relative to the image (default: the policy's text_scale, else {DEFAULT_TEXT_SCALE}). The cost grows with its square: 1.0 takes about 1.4 times as long as {DEFAULT_TEXT_SCALE} and finds slightly more 12-14 px lines; lower is faster and finds less small text (README, Text).", show_default=False)]


def load_segmenter(segmenter: Path | None) -> tuple[segmenters.Segmenter, list[Path]]:
    """The model (loaded once, before any image) and its files, which no output may replace."""
    from .. import segmenters

    if segmenter is None:
        return segmenters.default_segmenter(), []
    model = segmenters.load_segmenter(segmenter)
    return model, [segmenter, model.path]


def need_extra(what: str, extra: str, *modules: str) -> None:
    """One error line naming the extra to install when a command needs modules the base install lacks."""
    import importlib.util

    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise OptionError(f"{what} needs the {extra} extra: pip install 'segpress[{extra}]' ({module} is missing)")


def warn_unmapped(label_set: LabelSet, classes: Path) -> None:
    """A partial --mapping leaves classes out of the score: say which, as a partial map scores fewer."""
    if label_set.unmapped:
        count = len(label_set.unmapped)
        console.stderr.print(f"warning: {count} class{'es' if count > 1 else ''} of {classes.name} not in the mapping "
                             f"{'are' if count > 1 else 'is'} not scored ({'their' if count > 1 else 'its'} pixels are ignored): "
                             f"{', '.join(label_set.unmapped)}", markup=False, highlight=False)
