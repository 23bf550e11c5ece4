"""A method's parameters: one dataclass per method, every option with its default and meaning.

A method's ``Params`` subclasses :class:`MethodParams` (a zero-shot method) or
:class:`TrainingParams` (a trained one), adds its own fields and overrides the defaults its
paper sets. The class lives in a torch-free module of its paper (the registry's
``MethodSpec.params`` names it), so that the grid checks a config's ``training:`` blocks against
its fields without importing a model library. ``from_dict`` reads a config block strictly.
"""

from __future__ import annotations

import dataclasses
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
    them and the known ones). Float fields also accept ints and numeric strings (PyYAML reads
    ``3e-5`` as a string)."""
    values = dict(values or {})
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise TypeError(f"{cls.__module__}.{cls.__qualname__}: unknown parameter(s) {unknown}; known: {sorted(known)}")
    for name, value in values.items():
        values[name] = _coerce(cls, name, str(known[name].type), value)
    return cls(**values)


def _coerce(cls, name: str, annotation: str, value):
    """Command-line values arrive as strings (``--config``): read them as the field's type."""
    if isinstance(value, str) and "None" in annotation and value in ("null", "None"):
        return None
    try:
        if annotation.startswith("float") and isinstance(value, (int, str)) and not isinstance(value, bool):
            return float(value)
        if annotation.startswith("int") and isinstance(value, str):
            return int(value)
        if annotation.startswith("bool") and isinstance(value, str):
            return {"true": True, "false": False}[value.lower()]
    except (ValueError, KeyError):
        expected = "a number" if annotation.startswith("float") else annotation
        raise TypeError(f"{cls.__qualname__}.{name}: expected {expected}, got {value!r}") from None
    return value
