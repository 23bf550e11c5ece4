"""Training and inference plumbing every method shares: one place for the HF Trainer's arguments,
mixed precision, the resume point and the training summary.

Methods differ in their models, inputs and losses, never in how a run is checkpointed, selected on
source dev, resumed or recorded: that lives here, so that a fix reaches every method at once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:  # annotations only: importing them costs an evaluation job seconds
    from transformers import TrainingArguments

SUMMARY_FILE = "xlie_training.json"
PRECISIONS = ("none", "bf16", "fp16")


def on_gpu() -> bool:
    return torch.cuda.is_available()


def _precision(precision: str | bool) -> str:
    """``True``/``False`` (a method's ``bf16`` flag) or one of :data:`PRECISIONS`."""
    if isinstance(precision, bool):
        return "bf16" if precision else "none"
    if precision not in PRECISIONS:
        raise ValueError(f"mixed precision must be one of {PRECISIONS}, got {precision!r}")
    return precision


def training_arguments(
    checkpoint_dir: str | Path,
    seed: int,
    *,
    learning_rate: float,
    batch_size: int,
    epochs: float,
    selection_metric: str,
    greater_is_better: bool = True,
    eval_steps: int | None = None,
    grad_accum: int = 1,
    weight_decay: float = 0.0,
    warmup_steps: int | float = 0,
    adam_epsilon: float = 1e-8,
    max_grad_norm: float = 1.0,
    precision: str | bool = "none",
    save_total_limit: int = 2,
    **extra,
) -> TrainingArguments:
    """The Trainer's arguments for a dev-selected, resumable run.

    Evaluation on source dev and a checkpoint every ``eval_steps`` optimiser steps (None: every
    epoch); the best checkpoint by ``selection_metric`` is reloaded at the end
    (``load_best_model_at_end``) and ``save_total_limit`` keeps it and the latest (the resume
    point). Mixed precision only on a GPU; seeds for the model and the data order. ``extra`` is
    passed through (a method's own optimiser or sampler settings)."""
    from transformers import TrainingArguments  # seconds of imports: only training jobs pay them

    strategy = "steps" if eval_steps else "epoch"
    precision, gpu = _precision(precision), on_gpu()
    return TrainingArguments(
        output_dir=str(checkpoint_dir),
        learning_rate=learning_rate,
        per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=grad_accum,
        num_train_epochs=epochs,
        weight_decay=weight_decay,
        warmup_steps=warmup_steps,
        adam_epsilon=adam_epsilon,
        max_grad_norm=max_grad_norm,
        eval_strategy=strategy,
        eval_steps=eval_steps,
        save_strategy=strategy,
        save_steps=eval_steps,
        save_total_limit=save_total_limit,
        load_best_model_at_end=True,
        metric_for_best_model=selection_metric,
        greater_is_better=greater_is_better,
        seed=seed,
        data_seed=seed,
        bf16=gpu and precision == "bf16",
        fp16=gpu and precision == "fp16",
        use_cpu=not gpu,
        report_to=[],
        dataloader_num_workers=0,
        **extra,
    )


def autocast(precision: str | bool):
    """Mixed-precision autocast on a GPU when asked (``bf16`` flag or a :data:`PRECISIONS` name);
    a no-op context on CPU."""
    precision = _precision(precision)
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    return torch.autocast("cuda", dtype=dtype, enabled=precision != "none" and on_gpu())


def dev_history(trainer) -> list[dict]:
    """Every source-dev evaluation of a finished training, ``eval_`` prefixes removed."""
    return [
        {k.removeprefix("eval_"): v for k, v in e.items() if k.startswith("eval_") or k in ("step", "epoch")}
        for e in trainer.state.log_history
        if "eval_loss" in e
    ]


def write_training_summary(output_dir: str | Path, summary: dict) -> dict:
    """``xlie_training.json`` beside the saved model: what training did (best dev, steps, counts,
    resume point); ``selection`` names the dev metric the model was chosen on."""
    from xlie.runtime import atomic_write_text

    atomic_write_text(Path(output_dir) / SUMMARY_FILE, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary
