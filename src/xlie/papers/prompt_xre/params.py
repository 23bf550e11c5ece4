"""The options of Prompt-XRE's method (torch-free: the grid checks a config's ``training:`` blocks
against them without importing a model library); the method imports the class as ``Params``."""

from __future__ import annotations

from dataclasses import dataclass

from xlie.papers.prompt_xre.templates import check_template
from xlie.pipeline.params import TrainingParams

MIXED_PRECISIONS = ("fp16", "bf16", "none")
SELECTIONS = ("accuracy", "loss")


@dataclass
class MBartRelationParams(TrainingParams):
    """Hyper-parameters of Prompt-XRE (``mbart_relation``); defaults: the authors' final fairseq
    script (../shared/specs/prompt-xre.md): 30 epochs, batch 12, learning rate 3e-5."""

    template: str = "none"  # "none" (baseline mBART) or "1".."9" (Table I)
    # Adam and fairseq's polynomial decay (power 1, to 0) after warmup_ratio of the steps.
    adam_beta1: float = 0.9
    adam_beta2: float = 0.98
    adam_epsilon: float = 1e-8
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 0.0  # 0: no clipping (--clip-norm 0.0)
    # Batches and length.
    batch_size: int = 12
    grad_accum: int = 1
    epochs: float = 30
    max_length: int = 1024  # a guard (mBART-large's 1024 positions); cuts are counted, the authors cut nothing
    group_by_length: bool = True  # length-grouped training batches (dynamic padding is always on)
    # Dropout: dropout and attention_dropout override the model config; pooler_dropout is the
    # classification head's (fairseq default 0).
    dropout: float = 0.1
    attention_dropout: float = 0.1
    pooler_dropout: float = 0.0
    mixed_precision: str = "fp16"  # "fp16" (the authors), "bf16" or "none"; GPU only
    # Model selection on the source dev set: "accuracy" (the code) or "loss" (the paper text), at
    # each epoch end (eval_steps None) or every eval_steps optimiser steps.
    selection: str = "accuracy"
    eval_steps: int | None = None
    logging_steps: int = 50
    save_total_limit: int = 2

    def __post_init__(self) -> None:
        self.template = str(self.template)
        check_template(self.template)
        self.check_choices(selection=SELECTIONS, mixed_precision=MIXED_PRECISIONS)
        if not 0 <= self.warmup_ratio < 1:
            raise ValueError(f"warmup_ratio: expected a fraction in [0, 1), got {self.warmup_ratio!r}")
