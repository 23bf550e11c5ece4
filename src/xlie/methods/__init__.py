"""Methods: how inputs are built and which model head scores them. Training uses HF Trainer.

Every method exposes the same two functions, so the workflow treats them alike:

    train(model_path, task, train, dev, output_dir, checkpoint_dir, params, seed) -> summary dict
        fine-tune from ``model_path`` (hub id or local dir), keep the best source-dev model in
        ``output_dir`` (loadable by ``load_predictor``), checkpoints in ``checkpoint_dir``
        (resumed from when present); ``params`` is the method's config dict.
    load_predictor(model_dir, task, params) -> predict(sentences) -> Prediction
        load once, then tag any number of sentence lists.

Zero-shot methods (the LLM study) have ``train = None`` and predict with the base model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


@dataclass
class Prediction:
    """Word-level tags for each sentence plus counts of everything that was not a clean prediction
    (truncated words, invalid/unparseable generations, empty sentences...). Never silent."""

    tags: list[list[str]]
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class MethodSpec:
    module: str  # xlie.methods.<module> holds train / load_predictor
    params_key: str  # config key under training:
    families: frozenset[str]
    zero_shot: bool = False


# (method, family kind) -> implementation. Family kinds: encoder (bert, xlmr), seq2seq (mt5), causal.
FAMILY_KIND = {"bert": "encoder", "xlmr": "encoder", "mt5": "seq2seq", "mbart": "seq2seq", "causal": "causal"}

METHODS: dict[tuple[str, str], MethodSpec] = {
    ("vanilla", "encoder"): MethodSpec("token_classification", "vanilla_token", frozenset({"bert", "xlmr"})),
    ("vanilla", "seq2seq"): MethodSpec("vanilla_seq2seq", "vanilla_seq2seq", frozenset({"mt5"})),
    ("topro", "encoder"): MethodSpec("topro_encoder", "topro_encoder", frozenset({"bert", "xlmr"})),
    ("topro", "seq2seq"): MethodSpec("topro_seq2seq", "topro_seq2seq", frozenset({"mt5"})),
    ("pt", "encoder"): MethodSpec("prefix_tuning", "prefix_tuning", frozenset({"bert", "xlmr"})),
    ("llm_logits", "causal"): MethodSpec("llm_zero_shot", "llm", frozenset({"causal"}), zero_shot=True),
    ("llm_logits", "seq2seq"): MethodSpec("llm_zero_shot", "llm", frozenset({"mt5"}), zero_shot=True),
    ("llm_generate", "causal"): MethodSpec("llm_zero_shot", "llm", frozenset({"causal"}), zero_shot=True),
    ("llm_generate", "seq2seq"): MethodSpec("llm_zero_shot", "llm", frozenset({"mt5"}), zero_shot=True),
}


def method_spec(method: str, family: str) -> MethodSpec | None:
    spec = METHODS.get((method, FAMILY_KIND.get(family, "")))
    return spec if spec is not None and family in spec.families else None


def families_for(method: str) -> set[str]:
    return {f for (m, _), spec in METHODS.items() if m == method for f in spec.families}


def implementation(spec: MethodSpec) -> tuple[Callable | None, Callable]:
    """(train, load_predictor) of a method; imported lazily (torch-heavy modules)."""
    import importlib

    module = importlib.import_module(f"xlie.methods.{spec.module}")
    return (None if spec.zero_shot else module.train), module.load_predictor


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
        if str(known[name].type).startswith("float") and isinstance(value, (int, str)) and not isinstance(value, bool):
            try:
                values[name] = float(value)
            except ValueError:
                raise TypeError(f"{cls.__qualname__}.{name}: expected a number, got {value!r}") from None
    return cls(**values)


def load_for_inference(auto_class, model_dir: str | Path):
    """``auto_class.from_pretrained(model_dir)`` on the GPU when there is one, in eval mode, with its tokenizer."""
    import torch
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = auto_class.from_pretrained(model_dir)
    if torch.cuda.is_available():
        model = model.cuda()
    return model.eval(), tokenizer
