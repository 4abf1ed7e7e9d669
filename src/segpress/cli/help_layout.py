"""``--help`` as a new user reads it in an 80-column terminal.

Typer's Rich help puts every option in a five-column table (the help text gets about 23 columns at 80),
reads help text as Rich markup (``segpress[text]`` printed as "segpress") and labels values with their
Python type (``<list[Path]>``, ``<bool>`` on switches). The CLI uses Click's plain help instead
(``rich_markup_mode=None``: text is printed as written) through :class:`HelpCommand`, which also names
arguments by their metavar alone (``IMAGE...``) and never splits an option name at a hyphen when a line
wraps (``--bg-`` / ``quality``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from typer.core import TyperArgument, TyperCommand

# Typer carries its own Click: the classes are taken from its command class, not imported from click.
_BaseContext = TyperCommand.context_class
# Wrapping is done on a copy where hyphens are non-breaking (the same width), then they are put back.
_NO_BREAK = "\u2011"


class _HelpFormatter(_BaseContext.formatter_class):  # type: ignore[name-defined,misc]
    def write_dl(self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        start = len(self.buffer)
        super().write_dl([(first, second.replace("-", _NO_BREAK)) for first, second in rows], col_max, col_spacing)
        self.buffer[start:] = [text.replace(_NO_BREAK, "-") for text in self.buffer[start:]]

    def write_text(self, text: str) -> None:
        start = len(self.buffer)
        super().write_text(text.replace("-", _NO_BREAK))
        self.buffer[start:] = [part.replace(_NO_BREAK, "-") for part in self.buffer[start:]]


class _Context(_BaseContext):  # type: ignore[valid-type,misc]
    formatter_class = _HelpFormatter


class HelpCommand(TyperCommand):
    """A Typer command whose help reads well at 80 columns (see the module docstring)."""

    context_class = _Context

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        for param in params:
            if isinstance(param, TyperArgument) and param.metavar is not None:
                param.display_type_rich = _no_type  # type: ignore[method-assign]
        return params

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """``[OPTIONS] IMAGE...``: an argument with a metavar is shown as that, not ``{IMAGE...}...``."""
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument) and param.metavar is not None:
                pieces.append(param.metavar)
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces


def _no_type(*args: Any, **kwargs: Any) -> None:
    return None
