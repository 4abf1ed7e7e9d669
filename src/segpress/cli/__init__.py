"""Command line: a thin layer over ``segpress.api``; ``main(argv) -> int`` is what tests call.

Commands: ``compress`` (importance from --mask, --labels, or the segmentation model), ``segment``
(label map and overlay PNGs from the model), ``batch`` (whole folders and buckets, resumable:
``segpress.batch``), ``bench`` (RD curves, BD-rates and task fidelity on your images: ``segpress.bench``),
``inspect``, ``formats`` and ``serve`` (web page and HTTP API: ``segpress.server``).

Every user-fixable failure is one line on stderr (``error: ...``) and a non-zero exit code:
1 when some input failed, 2 for a bad command line or option.

A module a command group: ``compress``, ``segment``, ``measure`` (evaluate, bench), ``info`` (inspect,
formats), ``batch`` and ``serve``, registered here in the order ``--help`` lists them. ``console`` holds
the two consoles the commands print to (tests swap them) and ``shared`` the options several commands take;
``typer_options`` makes the compress options into Typer options (compress, batch), ``results`` prints
compress's rows and ``help_layout`` lays out ``--help``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ..errors import OptionError, SegpressError
from . import batch, compress, console, info, measure, segment, serve
from .console import InputFailed
from .help_layout import HelpCommand

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Semantic-segmentation-guided image compression: bytes where the picture matters.",
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help printed as written, in Click's plain layout (segpress.cli.help_layout)
)
for command in (compress.compress, segment.segment, measure.evaluate, measure.bench, info.inspect, info.formats,
                batch.batch, serve.serve):
    app.command(cls=HelpCommand)(command)


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        from .. import __version__

        console.stdout.print(f"segpress {__version__}")
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
        console.stderr.print(f"error: {error}", markup=False)
        return 2
    except SegpressError as error:
        console.stderr.print(f"error: {error}", markup=False)
        return 1
    except typer.Exit as done:
        return done.exit_code
    except (typer.Abort, KeyboardInterrupt):
        console.stderr.print("error: interrupted")
        return 130
    except typer.TyperException as error:  # usage errors: unknown option, missing argument...
        console.stderr.print(f"error: {error.format_message()}", markup=False)
        return 2
    if code == 130:
        console.stderr.print("error: interrupted")
    return code if isinstance(code, int) else 0


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
