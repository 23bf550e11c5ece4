"""Training and inference plumbing every method shares: one place for the HF Trainer's arguments,
mixed precision, the resume point and the training summary.

Methods differ in their models, inputs and losses, never in how a run is checkpointed, selected on
source dev, resumed or recorded: that lives here, so that a fix reaches every method at once.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:  # annotations only: importing them costs an evaluation job seconds
    from transformers import TrainingArguments

SUMMARY_FILE = "xlie_training.json"
PRECISIONS = ("none", "bf16", "fp16")
# Test hook: attempts up to this number raise a CUDA out-of-memory error as training starts.
INJECT_OOM_ENV = "XLIE_INJECT_OOM_ATTEMPTS"


def on_gpu() -> bool:
    return torch.cuda.is_available()


def _precision(precision: str | bool) -> str:
    """``True``/``False`` (a method's ``bf16`` flag) or one of :data:`PRECISIONS`."""
    if isinstance(precision, bool):
        return "bf16" if precision else "none"
    if precision not in PRECISIONS:
        raise ValueError(f"mixed precision must be one of {PRECISIONS}, got {precision!r}")
    return precision


def start_training(params_cls, params: dict, seed: int, output_dir, checkpoint_dir) -> tuple:
    """What a method's ``train`` does first: its ``Params`` read from the config dict (strictly),
    every random generator seeded (``transformers.set_seed``), the directories as Paths. Returns
    (params, output_dir, checkpoint_dir)."""
    from transformers import set_seed

    hp = params_cls.from_dict(params)
    set_seed(seed)
    return hp, Path(output_dir), Path(checkpoint_dir)


def training_arguments(
    checkpoint_dir: str | Path,
    seed: int,
    params,
    *,
    selection_metric: str,
    greater_is_better: bool = True,
    eval_steps: int | None = None,
    precision: str | bool | None = None,
    **extra,
) -> TrainingArguments:
    """The Trainer's arguments for a dev-selected, resumable run of a method with ``params``.

    From ``params`` (the method's ``xlie.pipeline.params.TrainingParams``): ``learning_rate``,
    ``batch_size``, ``epochs``, ``weight_decay`` and, where the method has them, ``grad_accum``
    (else 1), ``warmup_steps`` (else 0), ``logging_steps`` and ``bf16`` (the mixed precision unless
    ``precision`` names one). Evaluation on source dev and a checkpoint every ``eval_steps``
    optimiser steps (None: every epoch); the best checkpoint by ``selection_metric`` is reloaded at
    the end (``load_best_model_at_end``) and ``save_total_limit`` (2) keeps it and the latest (the
    resume point). Mixed precision only on a GPU; seeds for the model and the data order.
    ``extra``: TrainingArguments of the method's own (optimiser, schedule, sampler); they win over
    the values above."""
    from transformers import TrainingArguments  # seconds of imports: only training jobs pay them

    strategy = "steps" if eval_steps else "epoch"
    precision = _precision(getattr(params, "bf16", False) if precision is None else precision)
    gpu = on_gpu()
    options = {
        "output_dir": str(checkpoint_dir),
        "learning_rate": params.learning_rate,
        "per_device_train_batch_size": params.batch_size,
        "gradient_accumulation_steps": getattr(params, "grad_accum", 1),
        "num_train_epochs": params.epochs,
        "weight_decay": params.weight_decay,
        "warmup_steps": getattr(params, "warmup_steps", 0),
        "adam_epsilon": 1e-8,
        "max_grad_norm": 1.0,
        # Dev evaluation and checkpoints at the same times; the best kept and reloaded at the end.
        "eval_strategy": strategy,
        "eval_steps": eval_steps,
        "save_strategy": strategy,
        "save_steps": eval_steps,
        "save_total_limit": 2,
        "load_best_model_at_end": True,
        "metric_for_best_model": selection_metric,
        "greater_is_better": greater_is_better,
        # Seeds of the model and of the data order; mixed precision on a GPU only.
        "seed": seed,
        "data_seed": seed,
        "bf16": gpu and precision == "bf16",
        "fp16": gpu and precision == "fp16",
        "use_cpu": not gpu,
        "report_to": [],
        "dataloader_num_workers": 0,
    }
    if hasattr(params, "logging_steps"):
        options["logging_steps"] = params.logging_steps
    return TrainingArguments(**{**options, **extra})


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
    from xlie.pipeline.runtime import atomic_write_text

    atomic_write_text(Path(output_dir) / SUMMARY_FILE, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return summary


def data_parallel_processes() -> int:
    """The processes this job trains on data-parallel: torchrun's WORLD_SIZE, 1 without it."""
    return int(os.environ.get("WORLD_SIZE") or 1)


def accumulation_steps(effective_batch_size: int, per_device_batch_size: int, processes: int) -> int:
    """The gradient accumulation that makes ``per_device_batch_size`` x ``processes`` up to
    ``effective_batch_size`` (a method's Params that fix the effective batch); a ValueError saying
    what to change when it does not divide."""
    per_step = per_device_batch_size * processes
    if effective_batch_size % per_step:
        raise ValueError(
            f"effective_batch_size {effective_batch_size} is not a multiple of per-device batch "
            f"{per_device_batch_size} x {processes} process(es) = {per_step}; change effective_batch_size, "
            "batch_size or the GPUs the job gets (resources: gpu)"
        )
    return effective_batch_size // per_step


# --- Out-of-memory retries -------------------------------------------------------------------
# Snakemake reruns a failed job (profiles set retries) with ``attempt`` one higher; the training
# rule hands it to the job as a resource. Attempt k trains with the per-device batch divided by
# about 2^(k-1) and the gradient accumulation multiplied to match, so the effective batch (and
# with it the optimiser's steps and the data order) stays what the config says. The run's options
# (Snakemake params) stay as configured: a retry is no config change and reruns nothing else.


class TrainingOutOfMemory(RuntimeError):
    """A training attempt ran out of GPU memory; the next attempt uses a smaller per-device batch."""


def is_out_of_memory(error: BaseException) -> bool:
    """CUDA's out-of-memory error, or a RuntimeError saying so (cuDNN, cuBLAS and older torch)."""
    return isinstance(error, torch.cuda.OutOfMemoryError) or (
        isinstance(error, RuntimeError) and "out of memory" in str(error).lower()
    )


def inject_out_of_memory(attempt: int) -> None:
    """Raise ``torch.cuda.OutOfMemoryError`` when ``attempt`` <= $XLIE_INJECT_OOM_ATTEMPTS (tests)."""
    failing = int(os.environ.get(INJECT_OOM_ENV) or 0)
    if attempt <= failing:
        raise torch.cuda.OutOfMemoryError(
            f"CUDA out of memory (injected by {INJECT_OOM_ENV}={failing} on attempt {attempt})"
        )


def _smaller_batch(batch: int, attempt: int, exact: bool) -> int:
    """About ``batch / 2^(attempt-1)``, at least 1; with ``exact`` the largest divisor of ``batch``
    not above that, so that the accumulation makes up for it exactly."""
    target = max(1, batch >> (attempt - 1))
    return max(d for d in range(1, target + 1) if batch % d == 0) if exact else target


def batch_for_attempt(params: dict, params_cls, attempt: int, processes: int = 1) -> tuple[dict, dict | None]:
    """(the method's params for this attempt, what batch it trains with), from the configured
    ``params`` and the method's ``Params`` dataclass (its defaults fill what the config leaves out).

    Attempt 1 returns ``params`` unchanged. Later attempts lower ``batch_size`` (and
    ``eval_batch_size``, the dev evaluations' batch) and raise ``grad_accum`` by the same factor;
    a method without ``grad_accum`` only lowers its batch, so its effective batch shrinks and the
    record says so. A method whose Params set ``effective_batch_size`` derives its accumulation from
    it, the batch and the ``processes`` the job trains on (:func:`accumulation_steps`); its record
    says the processes too. The record (None for a method without ``batch_size``) goes to the training
    summary, the provenance and the checkpoint manifest."""
    from xlie.pipeline.params import strict_from_dict

    names = {f.name for f in dataclasses.fields(params_cls)}
    if "batch_size" not in names:
        return params, None
    configured = strict_from_dict(params_cls, params)
    batch = configured.batch_size
    effective = getattr(configured, "effective_batch_size", None)
    accum = configured.grad_accum if "grad_accum" in names else None
    if effective is not None:
        accum = accumulation_steps(effective, batch, processes)
    adjusted = dict(params)
    if attempt > 1:
        new_batch = _smaller_batch(batch, attempt, exact=accum is not None)
        adjusted["batch_size"] = new_batch
        if accum is not None and effective is None:  # with an effective batch the method derives it again
            adjusted["grad_accum"] = accum * (batch // new_batch)
        if "eval_batch_size" in names:
            adjusted["eval_batch_size"] = _smaller_batch(configured.eval_batch_size, attempt, exact=False)
    used_batch, used_accum = adjusted.get("batch_size", batch), adjusted.get("grad_accum", accum)
    if effective is not None:
        used_accum = accumulation_steps(effective, used_batch, processes)
    record = {
        "attempt": attempt,
        "per_device_batch_size": used_batch,
        "grad_accum": used_accum if used_accum is not None else 1,
        "effective_batch_size": used_batch * (used_accum or 1),
        "configured": {"batch_size": batch, "grad_accum": accum if accum is not None else 1},
    }
    if effective is not None:
        record["processes"] = processes
        record["effective_batch_size"] *= processes
        record["configured"]["effective_batch_size"] = effective
    if "eval_batch_size" in names:
        record["eval_batch_size"] = adjusted.get("eval_batch_size", configured.eval_batch_size)
    return adjusted, record


def describe_batch(record: dict) -> str:
    processes = f" on {record['processes']} processes" if record.get("processes", 1) > 1 else ""
    text = (
        f"per-device batch {record['per_device_batch_size']}, grad_accum {record['grad_accum']}{processes} "
        f"(effective batch {record['effective_batch_size']}"
    )
    configured = record["configured"]
    if "effective_batch_size" in configured:
        return text + ")"
    if record["effective_batch_size"] != configured["batch_size"] * configured["grad_accum"]:
        text += f", configured {configured['batch_size'] * configured['grad_accum']}: this method has no grad_accum"
    return text + ")"


def out_of_memory_message(record: dict | None, params: dict, params_cls, attempt: int) -> str:
    """The log line of a training attempt that ran out of memory: what it used, what the next one uses."""
    if record is None:
        return f"out of GPU memory on attempt {attempt}; this method has no batch_size to lower"
    _, following = batch_for_attempt(params, params_cls, attempt + 1, record.get("processes", 1))
    return (
        f"out of GPU memory on attempt {attempt} with {describe_batch(record)}; Snakemake's next attempt "
        f"(profiles set retries) trains with {describe_batch(following)}"
    )


def record_batch(output_dir: str | Path, record: dict) -> None:
    """Add the batch a run trained with (``batch``) to its ``xlie_training.json``."""
    from xlie.pipeline.provenance import write_json

    path = Path(output_dir) / SUMMARY_FILE
    summary = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    write_json(path, {**summary, "batch": record})
