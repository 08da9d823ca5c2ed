"""Command-line options made from a dataclass: one flag per field, its help from the field's
metadata.

``python -m resnext_edu train`` and ``sweep`` take their training options from the fields of
:class:`resnext_edu.config.TrainConfig` through :func:`add_options`, and ``sweep --list`` writes them
back with :func:`to_argv`, so a field added to the dataclass is an option of both commands, and part
of a sweep's settings, without another edit. A field's annotation decides how its flag reads:

* ``bool`` (and ``bool | None``): ``--name`` / ``--no-name``;
* ``int``, ``float``, ``str``: one value; ``int | None``: a number or ``all``;
* ``tuple``: pairs ``A:B`` such as ``16:0.4 24:0.3`` (none: an empty tuple).

The same annotations check a value given from Python (:func:`check_types`)."""

from __future__ import annotations

import argparse
import dataclasses
import math
import types
import typing

ALL = "all"


def flag(name: str) -> str:
    """The option of a field: ``batch_size`` -> ``--batch-size``."""
    return "--" + name.replace("_", "-")


def optional_int(text: str) -> int | None:
    return None if text.lower() in (ALL, "none") else int(text)


def pair(text: str) -> tuple:
    """``"16:0.4"`` -> ``(16, 0.4)``: whole numbers stay whole."""
    try:
        return tuple(_number(part) for part in text.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a pair like 16:0.4") from None


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)


def _kind(cls, name: str):
    """The annotation of field ``name``, resolved (``from __future__ import annotations`` keeps it a
    string)."""
    return typing.get_type_hints(cls)[name]


def _argparse_kwargs(kind) -> dict:
    args = set(typing.get_args(kind))
    if kind is bool or args == {bool, type(None)}:
        return {"action": argparse.BooleanOptionalAction}
    if args == {int, type(None)}:
        return {"type": optional_int, "metavar": "N|all"}
    if kind is tuple or typing.get_origin(kind) is tuple:
        return {"type": pair, "nargs": "*", "metavar": "A:B"}
    return {"type": kind}


def add_options(parser, cls, *, skip=(), defaults=None, shown=None) -> None:
    """Add one option per field of dataclass ``cls`` (except ``skip``) to ``parser``.

    ``defaults``: an instance whose values are the options' defaults; None: an option not given is
    absent from the parsed namespace (the caller fills it in: a sweep takes its budget's settings).
    ``shown(name)``: the default written in the help, when it is not ``defaults``' value."""
    for field in dataclasses.fields(cls):
        if field.name in skip:
            continue
        help_text = field.metadata.get("help", "").replace("%", "%%")
        if defaults is not None:
            default = getattr(defaults, field.name)
            help_text += f" (default {_word(default)})"
        else:
            default = argparse.SUPPRESS
            help_text += f" (default {shown(field.name)})" if shown else ""
        parser.add_argument(
            flag(field.name),
            dest=field.name,
            default=default,
            help=help_text,
            **_argparse_kwargs(_kind(cls, field.name)),
        )


def given(args: argparse.Namespace, cls, skip=()) -> dict:
    """The values of ``cls``'s fields present in ``args`` (those given, when the defaults were
    suppressed)."""
    values = {}
    for field in dataclasses.fields(cls):
        if field.name not in skip and hasattr(args, field.name):
            value = getattr(args, field.name)
            values[field.name] = tuple(value) if isinstance(value, list) else value
    return values


def to_argv(obj, cls=None, *, skip=(), unless_equal=None) -> list[str]:
    """The options that set every field of dataclass instance ``obj`` (except ``skip``) to its
    value; with ``unless_equal`` (another instance), only those of the fields whose values differ
    from it."""
    cls = cls or type(obj)
    argv = []
    for field in dataclasses.fields(cls):
        value = getattr(obj, field.name)
        if field.name in skip or (
            unless_equal is not None and getattr(unless_equal, field.name) == value
        ):
            continue
        kind = _kind(cls, field.name)
        if isinstance(value, bool):
            argv.append(flag(field.name) if value else "--no-" + field.name.replace("_", "-"))
        elif value is None and bool in typing.get_args(kind):
            raise ValueError(f"{flag(field.name)} has no value for None; leave it at its default")
        elif isinstance(value, tuple):
            argv += [flag(field.name), *(":".join(map(str, item)) for item in value)]
        else:
            argv += [flag(field.name), _word(value)]
    return argv


def _word(value) -> str:
    return ALL if value is None else str(value)


def is_json(value, kind) -> bool:
    """Whether ``value`` is of ``kind`` as JSON has it: a bool is no number, a float is finite (a
    whole number is a float too)."""
    if kind is type(None) or isinstance(value, bool):
        return value is None if kind is type(None) else kind is bool
    if kind is float:
        return isinstance(value, (int, float)) and math.isfinite(value)
    return isinstance(value, typing.get_origin(kind) or kind)


def check_types(obj) -> None:
    """Refuse a field of dataclass ``obj`` whose value is not of its annotated type
    (:func:`is_json`): ValueError naming the option, e.g. "--lr must be float (finite, for a
    float), got nan."."""
    hints = typing.get_type_hints(type(obj))
    for field in dataclasses.fields(obj):
        value, kind = getattr(obj, field.name), hints[field.name]
        union = typing.get_origin(kind) in (typing.Union, types.UnionType)
        kinds = typing.get_args(kind) if union else (kind,)
        if not any(is_json(value, k) for k in kinds):
            names = " or ".join(
                ALL if k is type(None) else getattr(k, "__name__", str(k)) for k in kinds
            )
            raise ValueError(
                f"{flag(field.name)} must be {names} (finite, for a float), got {value!r}."
            )
