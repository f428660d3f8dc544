"""One typed definition per group of settings, from which validation, options and docs all come.

A group of settings is a dataclass whose fields are declared with `setting` (default, one-line help,
and the constraint the value must meet). From that single definition:

* `validate` checks an instance (called by the dataclasses' ``__post_init__``) and raises one
  ValueError naming the setting, what was expected and what arrived;
* `add_arguments` gives a script one ``--option`` per field, typed and defaulted, with its help;
* `json_schema` gives the JSON-schema properties of the field, against which the workflow's config
  schema is checked by the tests (the schema is documentation for Snakemake users, never a second
  definition);
* `settings_doc` lists every field with its default and meaning (for docstrings and ``--help``).

Pure Python: importing it loads neither JAX nor numpy.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import numbers
from typing import Any
from collections.abc import Iterable, Mapping


def _is_bool(value) -> bool:
    """A Python or numpy boolean scalar."""
    return isinstance(value, bool) or (getattr(value, "dtype", None) is not None and value.dtype.kind == "b"
                                       and getattr(value, "ndim", 1) == 0)


@dataclasses.dataclass(frozen=True)
class Constraint:
    """What a value must be: a kind ("bool", "int", "float", "choice", "str"), bounds, and options."""

    kind: str
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    choices: tuple = ()
    nullable: bool = False      # None is allowed (meaning: a default resolved later)
    infinite: bool = False      # math.inf is allowed (a number kind only)

    def check(self, value: Any) -> bool:
        """True when ``value`` meets the constraint."""
        if value is None:
            return self.nullable
        if self.kind == "bool":
            return _is_bool(value)
        if self.kind in ("choice", "str"):
            return isinstance(value, str) and (not self.choices or value in self.choices)
        if _is_bool(value) or not isinstance(value, numbers.Real) or math.isnan(value):
            return False
        if math.isinf(value):
            return self.infinite and value > 0
        if self.kind == "int" and int(value) != value:
            return False
        return ((self.ge is None or value >= self.ge) and (self.gt is None or value > self.gt)
                and (self.le is None or value <= self.le) and (self.lt is None or value < self.lt))

    def describe(self) -> str:
        """What the value must be, in words: e.g. "an integer >= 1", "a number in (0, 1]"."""
        if self.kind == "bool":
            text = "true or false"
        elif self.kind == "choice":
            text = "one of " + ", ".join(self.choices)
        elif self.kind == "str":
            text = "a string"
        else:
            noun = "an integer" if self.kind == "int" else "a number"
            low = (f"({self.gt:g}" if self.gt is not None else f"[{self.ge:g}" if self.ge is not None else None)
            high = (f"{self.lt:g})" if self.lt is not None else f"{self.le:g}]" if self.le is not None else None)
            if low and high:
                text = f"{noun} in {low}, {high}"
            elif low:
                text = f"{noun} {'>' if low[0] == '(' else '>='} {low[1:]}"
            elif high:
                text = f"{noun} {'<' if high[-1] == ')' else '<='} {high[:-1]}"
            else:
                text = noun
            if self.infinite:
                text += " or inf"
        return text + (" or None" if self.nullable else "")

    def schema(self) -> dict:
        """The JSON-schema keywords of the constraint (type, bounds, enum)."""
        kind = {"bool": "boolean", "int": "integer", "float": "number", "choice": "string", "str": "string"}[self.kind]
        if self.kind == "int" and self.infinite:
            kind = "number"
        out: dict[str, Any] = {"type": [kind, "null"] if self.nullable else kind}
        for key, name in (("ge", "minimum"), ("gt", "exclusiveMinimum"), ("le", "maximum"), ("lt", "exclusiveMaximum")):
            if getattr(self, key) is not None:
                out[name] = getattr(self, key)
        if self.kind == "choice":
            out["enum"] = list(self.choices)
        return out


def setting(default: Any, help: str, *, kind: str | None = None, ge: float | None = None, gt: float | None = None,
            le: float | None = None, lt: float | None = None, choices: Iterable[str] = (), nullable: bool = False,
            infinite: bool = False) -> Any:
    """A dataclass field with its ``default``, one-line ``help`` and constraint.

    ``kind`` defaults from the default's type (bool, int, float; a string with ``choices`` is a choice).
    """
    if kind is None:
        kind = ("bool" if isinstance(default, bool) else "int" if isinstance(default, int)
                else "choice" if choices else "str" if isinstance(default, str) else "float")
    constraint = Constraint(kind, ge, gt, le, lt, tuple(choices), nullable, infinite)
    if not constraint.check(default):
        raise ValueError(f"default {default!r} does not meet its own constraint ({constraint.describe()})")
    return dataclasses.field(default=default, metadata={"help": help, "constraint": constraint})


def setting_fields(cls_or_instance) -> list[dataclasses.Field]:
    """The fields of a settings dataclass that were declared with `setting`."""
    return [f for f in dataclasses.fields(cls_or_instance) if "constraint" in f.metadata]


def validate(instance) -> None:
    """Raise ValueError ``"<name> must be <what>, got <value>"`` for the first field that breaks its constraint."""
    for field in setting_fields(instance):
        value = getattr(instance, field.name)
        constraint: Constraint = field.metadata["constraint"]
        try:
            ok = constraint.check(value)
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            raise ValueError(f"{field.name} must be {constraint.describe()}, got {value!r}")


def check_names(cls, names: Iterable[str], what: str) -> None:
    """Raise ValueError listing the valid settings of ``cls`` when ``names`` holds an unknown one."""
    valid = [f.name for f in setting_fields(cls)]
    unknown = sorted(set(names) - set(valid))
    if unknown:
        raise ValueError(f"unknown {what} option(s) {unknown}; expected some of {sorted(valid)}")


def values(instance) -> dict[str, Any]:
    """Name → value of every setting of ``instance`` (in declaration order)."""
    return {f.name: getattr(instance, f.name) for f in setting_fields(instance)}


def defaults(cls) -> dict[str, Any]:
    """Name → default of every setting of ``cls``."""
    return {f.name: f.default for f in setting_fields(cls)}


def _parse_number(kind: str):
    def parse(text: str):
        if text.lower() in ("none", "null"):
            return None
        value = float(text)
        return int(value) if kind == "int" and math.isfinite(value) and value == int(value) else value
    parse.__name__ = "integer" if kind == "int" else "number"
    return parse


def add_arguments(parser: argparse.ArgumentParser, cls, exclude: Iterable[str] = ()) -> None:
    """One ``--name`` option per setting of ``cls`` (except ``exclude``): typed, defaulted, with its help.

    Booleans get ``--name`` / ``--no-name``; the values are validated by the dataclass itself.
    """
    excluded = set(exclude)
    for field in setting_fields(cls):
        if field.name in excluded:
            continue
        constraint: Constraint = field.metadata["constraint"]
        flag = "--" + field.name.replace("_", "-")
        help_text = f"{field.metadata['help']} (default: %(default)s)"
        if constraint.kind == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=field.default, help=help_text)
        elif constraint.kind == "choice":
            parser.add_argument(flag, choices=constraint.choices, default=field.default, help=help_text)
        elif constraint.kind == "str":
            parser.add_argument(flag, default=field.default, help=help_text)
        else:
            parser.add_argument(flag, type=_parse_number(constraint.kind), default=field.default, help=help_text)


def json_schema(cls, exclude: Iterable[str] = ()) -> dict[str, dict]:
    """Name → JSON-schema property (type, bounds, enum, description, default) of every setting of ``cls``."""
    excluded = set(exclude)
    out = {}
    for field in setting_fields(cls):
        if field.name in excluded:
            continue
        out[field.name] = {**field.metadata["constraint"].schema(), "description": field.metadata["help"],
                           "default": field.default}
    return out


def settings_doc(cls, indent: str = "    ") -> str:
    """One line per setting: ``name = default: help (constraint)``."""
    lines = []
    for field in setting_fields(cls):
        constraint: Constraint = field.metadata["constraint"]
        lines.append(f"{indent}{field.name} = {field.default!r}: {field.metadata['help']} ({constraint.describe()})")
    return "\n".join(lines)


def from_args(cls, namespace: argparse.Namespace, **given):
    """An instance of ``cls`` (validated) from the options `add_arguments` added to a parser; ``given``
    supplies the settings that were excluded from the options."""
    return cls(**{f.name: getattr(namespace, f.name) for f in setting_fields(cls) if f.name not in given}, **given)


def from_mapping(cls, options: Mapping[str, Any], what: str):
    """An instance of ``cls`` from a name → value mapping; unknown names are refused, listing the valid ones."""
    check_names(cls, options, what)
    return cls(**options)
