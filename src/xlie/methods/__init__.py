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
from typing import Callable


@dataclass
class Prediction:
    """Word-level tags for each sentence plus counts of everything that was not a clean prediction
    (truncated words, invalid/unparseable generations, empty sentences...). Never silent."""

    tags: list[list[str]]
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class MethodSpec:
    """One implementation of a method on a kind of model: the single source of truth for it.

    ``module``: xlie.methods.<module> holds ``train`` / ``load_predictor`` and its ``Params``
    dataclass (every option, its default and its meaning; ``params_class``). ``params_key``: the
    block of a paper's ``training:`` config that sets them. ``task_kinds``: the task types
    (``xlie.tasks``) it can run. ``variants``: named settings of one ``Params`` field
    (``variant_param``) that are rows of one method, e.g. Prompt-XRE's templates; the first is the
    default; a method without variants has the single variant ``default``. What its jobs ask the
    scheduler for comes from the config (``resources``: per model family and model, a runtime
    factor per method; xlie.resources), not from here."""

    module: str
    params_key: str
    families: frozenset[str]
    task_kinds: frozenset[str] = frozenset({"tagging"})
    zero_shot: bool = False
    variant_param: str | None = None
    variants: tuple[str, ...] = ("default",)


# Family kinds: encoder (bert, xlmr), seq2seq (mt5, mbart), causal.
FAMILY_KIND = {"bert": "encoder", "xlmr": "encoder", "mt5": "seq2seq", "mbart": "seq2seq", "causal": "causal"}

_LLM = dict(zero_shot=True, variant_param="mode", variants=("logits", "generate"))
PROMPT_XRE_TEMPLATES = ("none", "1", "2", "3", "4", "5", "6", "7", "8", "9")

# (method, family kind) -> implementation.
METHODS: dict[tuple[str, str], MethodSpec] = {
    ("vanilla", "encoder"): MethodSpec("token_classification", "vanilla_token", frozenset({"bert", "xlmr"})),
    ("vanilla", "seq2seq"): MethodSpec("vanilla_seq2seq", "vanilla_seq2seq", frozenset({"mt5"})),
    ("topro", "encoder"): MethodSpec("topro_encoder", "topro_encoder", frozenset({"bert", "xlmr"})),
    ("topro", "seq2seq"): MethodSpec("topro_seq2seq", "topro_seq2seq", frozenset({"mt5"})),
    ("pt", "encoder"): MethodSpec("prefix_tuning", "prefix_tuning", frozenset({"bert", "xlmr"})),
    # ToPro's zero-shot LLM study: verbalizer logits or generation + label matching.
    ("llm", "causal"): MethodSpec("llm_zero_shot", "llm", frozenset({"causal"}), **_LLM),
    ("llm", "seq2seq"): MethodSpec("llm_zero_shot", "llm", frozenset({"mt5"}), **_LLM),
    # Prompt-XRE: mBART relation classification, baseline ("none") and the nine Table I templates.
    ("prompt", "seq2seq"): MethodSpec("mbart_relation", "mbart_relation", frozenset({"mbart"}), frozenset({"relation"}),
                                      variant_param="template", variants=PROMPT_XRE_TEMPLATES),  # fmt: skip
    # AlignXIE: two-phase LoRA instruction tuning of a causal LM, code-style IE; the variant with
    # the TIP alignment phase and the ablation without it.
    ("alignxie", "causal"): MethodSpec("alignxie", "alignxie_lora", frozenset({"causal"}), frozenset({"codeie"}),
                                       variant_param="alignment", variants=("tip", "none")),  # fmt: skip
}


def method_spec(method: str, family: str) -> MethodSpec | None:
    spec = METHODS.get((method, FAMILY_KIND.get(family, "")))
    return spec if spec is not None and family in spec.families else None


def known_methods() -> list[str]:
    return sorted({m for m, _ in METHODS})


def families_for(method: str) -> set[str]:
    return {f for (m, _), spec in METHODS.items() if m == method for f in spec.families}


def param_fields(spec: MethodSpec) -> dict[str, str]:
    """Field name -> annotation of the method's ``Params``, read from its source with ``ast``.

    Written by hand because importing a method module costs seconds (torch, transformers) and the
    config is checked at every DAG build; the dataclass stays the single source of truth."""
    import ast
    import importlib.util

    module = f"xlie.methods.{spec.module}"
    for _ in range(3):  # a method module may import its Params from its paper's module
        tree = ast.parse(Path(importlib.util.find_spec(module).origin).read_text(encoding="utf-8"))
        imported = None
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name == "Params":
                return {
                    item.target.id: ast.unparse(item.annotation)
                    for item in node.body
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
                }
            if isinstance(node, ast.ImportFrom) and any(a.name == "Params" and a.asname is None for a in node.names):
                imported = node.module
        if imported is None:
            break
        module = imported
    raise LookupError(f"xlie.methods.{spec.module} has no Params dataclass")


def params_class(spec: MethodSpec):
    """The method's ``Params`` dataclass (imports its module: torch-heavy)."""
    import importlib

    return importlib.import_module(f"xlie.methods.{spec.module}").Params


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
