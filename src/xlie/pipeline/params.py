"""A method's parameters: one dataclass per method, every option with its default and meaning.

A method's ``Params`` subclasses :class:`MethodParams` (a zero-shot method) or
:class:`TrainingParams` (a trained one), adds its own fields and overrides the defaults its
paper sets. The class lives in a torch-free module of its paper (the registry's
``MethodSpec.params`` names it), so that the grid checks a config's ``training:`` blocks against
its fields without importing a model library. ``from_dict`` reads a config block strictly.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Iterable


@dataclass
class MethodParams:
    """Base of every method's ``Params``: strict reading from a config block, and value checks."""

    @classmethod
    def from_dict(cls, values: dict | None):
        """``cls(**values)``, unknown keys refused (see :func:`strict_from_dict`)."""
        return strict_from_dict(cls, values)

    def check_choices(self, **allowed: Iterable[str]) -> None:
        """A ValueError naming the field when a field's value is not one of ``allowed[field]``."""
        for name, choices in allowed.items():
            value = getattr(self, name)
            if value not in tuple(choices):
                raise ValueError(f"{type(self).__qualname__}.{name}: {value!r} is not one of {list(choices)}")

    def check_positive_ints(self, *names: str) -> None:
        """A ValueError naming the field when one of ``names`` is not an integer >= 1."""
        for name in names:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{type(self).__qualname__}.{name}: {value!r} must be a positive integer")


@dataclass
class TrainingParams(MethodParams):
    """The options every trained method has; a method's ``Params`` overrides the defaults.

    ``batch_size`` and ``eval_batch_size`` are what an out-of-memory retry lowers
    (``xlie.pipeline.training.batch_for_attempt``). The options most methods share but not all
    (``grad_accum``, ``warmup_steps``, ``logging_steps``, ``bf16``) are declared where they apply."""

    learning_rate: float = 3e-5  # peak learning rate of the optimiser
    batch_size: int = 8  # training examples per device and optimiser micro-step
    epochs: float = 1.0  # passes over the training data
    weight_decay: float = 0.0  # decoupled weight decay of AdamW
    eval_batch_size: int = 32  # examples per batch of the dev evaluations and of prediction


def strict_from_dict(cls, values: dict | None):
    """``cls(**values)`` for a method's Params dataclass that refuses unknown keys (TypeError naming
    them and the known ones); values are read as their fields' types by :func:`read_as`, as the
    workflow's config already was (a direct caller may pass ``"3e-5"``)."""
    values = dict(values or {})
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise TypeError(f"{cls.__module__}.{cls.__qualname__}: unknown parameter(s) {unknown}; known: {sorted(known)}")
    for name, value in values.items():
        try:
            values[name] = read_as(str(known[name].type), value)
        except ValueError as error:
            raise TypeError(f"{cls.__qualname__}.{name}: {error}") from None
    return cls(**values)


_NO_MATCH = object()
_SCALARS = ("None", "str", "bool", "int", "float")
_LIST = re.compile(r"list\[(\w+)\]")  # list[str]: a list of one scalar type


def _number(option: str, value):
    """``value`` as an int or (``option`` float) a number; an int stays an int where a float is
    expected, as YAML reads ``3``."""
    if isinstance(value, bool):
        return _NO_MATCH
    if isinstance(value, int) or (isinstance(value, float) and option == "float"):
        return value
    for parse in (int, float) if option == "float" else (int,):
        try:
            return parse(value.strip()) if isinstance(value, str) else _NO_MATCH
        except ValueError:
            continue
    return _NO_MATCH


def _as_option(option: str, value):
    """``value`` as one alternative of an annotation (``int``, ``None``, ``list[str]``, ...), else _NO_MATCH."""
    word = value.strip().lower() if isinstance(value, str) else None
    if option == "None":
        return None if value is None or word in ("null", "none", "~") else _NO_MATCH
    if option == "str":  # YAML reads a template id 7 as an int
        return value if isinstance(value, str) else str(value) if type(value) is int else _NO_MATCH
    if option == "bool":
        return value if isinstance(value, bool) else (word == "true" if word in ("true", "false") else _NO_MATCH)
    if option in ("int", "float"):
        return _number(option, value)
    items = _LIST.fullmatch(option)
    if items and isinstance(value, list):
        typed = [_as_option(items.group(1), item) for item in value]
        return _NO_MATCH if any(item is _NO_MATCH for item in typed) else typed
    return _NO_MATCH


def read_as(annotation: str, value):
    """``value`` as the annotated type (``int``, ``float | None``, ``list[str] | str``, ...): the one
    reader of option values, for the config's training blocks and for ``from_dict``. A ValueError
    when it is none of them; other annotations are not checked."""
    options = [option.strip() for option in annotation.split("|")]
    if not all(option in _SCALARS or _LIST.fullmatch(option) for option in options):
        return value
    if isinstance(value, str) and "str" in options:
        return value
    for option in options:
        typed = _as_option(option, value)
        if typed is not _NO_MATCH:
            return typed
    raise ValueError(f"expected {annotation}, got {value!r}")
