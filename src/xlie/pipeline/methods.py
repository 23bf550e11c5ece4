"""Methods: how inputs are built and which model head scores them. Training uses HF Trainer.

Every method exposes the same two functions, so the workflow treats them alike:

    train(model_path, task, train, dev, output_dir, checkpoint_dir, params, seed, **task_kwargs) -> summary
        fine-tune from ``model_path`` (hub id or local dir), keep the best source-dev model in
        ``output_dir`` (loadable by ``load_predictor``), checkpoints in ``checkpoint_dir``
        (resumed from when present); ``params`` is the method's config dict; ``task_kwargs`` are
        what the task type adds (``TaskType.method_kwargs``, e.g. a label list read from data).
    load_predictor(model_dir, task, params) -> predict(examples, desc=...) -> prediction record
        load once, then predict any number of example lists (``Prediction`` for tagging).

Zero-shot methods (the LLM study) have ``train = None`` and predict with the base model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Prediction:
    """Word-level tags for each sentence plus counts of everything that was not a clean prediction
    (truncated words, invalid/unparseable generations, empty sentences...). Never silent."""

    tags: list[list[str]]
    counts: dict[str, int] = field(default_factory=dict)


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


def load_for_inference(auto_class, model_dir: str | Path):
    """``auto_class.from_pretrained(model_dir)`` on the GPU when there is one, in eval mode, with its tokenizer."""
    import torch
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = auto_class.from_pretrained(model_dir)
    if torch.cuda.is_available():
        model = model.cuda()
    return model.eval(), tokenizer
