"""The compress options (:class:`segpress.options.CompressOptions`) as Typer options, made from its fields.

``@with_compress_options(...)`` gives a command one option per field, where its parameter
``options: OptionValues = COMPRESS_OPTIONS`` stands (that is their place in ``--help``), with the
field's help and default (a command may change some: ``batch`` does not compare by default), and hands
them to the command together as ``options``: a dict of field values, lengths already read from ``8``
or ``2%``, ready for ``CompressOptions(**options)``.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import types
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Optional, TypeVar

import typer

from ..options import CompressOptions, parse_length

Command = TypeVar("Command", bound=Callable[..., Any])
OptionValues = dict[str, Any]
COMPRESS_OPTIONS: OptionValues = typing.cast(OptionValues, object())  # marks where the options go


def flag(name: str) -> str:
    """The option a field is on the command line: ``min_area`` -> ``--min-area``."""
    return "--" + name.replace("_", "-")


def with_compress_options(overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Callable[[Command], Command]:
    """Adds the compress options to a Typer command, which takes them as ``options: OptionValues``.

    ``overrides``: field name -> ``default`` and/or ``help`` that differ for this command.
    """
    changed = dict(overrides or {})

    def decorate(command: Command) -> Command:
        own = inspect.signature(command, eval_str=True)
        added = [_parameter(field, changed.get(field.name, {})) for field in dataclasses.fields(CompressOptions)]

        @functools.wraps(command)
        def run(**values: Any) -> Any:
            given = {parameter.name: values.pop(parameter.name) for parameter in added}
            return command(**values, options=_read(given))

        parameters = []
        for parameter in own.parameters.values():  # keyword-only: typer passes every value by name
            parameters += added if parameter.name == "options" else [parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY)]
        run.__signature__ = own.replace(parameters=parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters}  # typer reads these too
        return typing.cast(Command, run)

    return decorate


def _parameter(field: dataclasses.Field[Any], override: Mapping[str, Any]) -> inspect.Parameter:
    meta = {**field.metadata, **override}
    default = override.get("default", field.default)
    kind = str if meta.get("length") else meta.get("cli_type") or _plain(typing.get_type_hints(CompressOptions)[field.name])
    declared = meta.get("flag", ())  # none: typer names it from the field (--min-area, --strip/--no-strip)
    option = typer.Option(*((declared,) if isinstance(declared, str) else declared), help=meta["help"])
    annotation = Annotated[Optional[kind] if default is None else kind, option]  # typer reads Optional, not X | None
    return inspect.Parameter(field.name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def _plain(hint: Any) -> Any:
    """``float | None`` -> ``float``: the type a command line value is read as."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        (kind,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return kind
    return hint


def _read(given: dict[str, Any]) -> dict[str, Any]:
    """The values as ``CompressOptions`` takes them: lengths read from their text."""
    lengths = {field.name for field in dataclasses.fields(CompressOptions) if field.metadata.get("length")}
    return {name: parse_length(value, flag(name)) if name in lengths else value for name, value in given.items()}
