"""What one training or evaluation job asks the scheduler for: from its model and method, not its rule.

One rule (``train_run``) trains mBERT and models many times its size, so ``set-resources`` per rule
cannot tell the jobs apart. Each job's ``gpu``, ``mem_mb``, ``cpus_per_task`` and ``runtime``
(minutes) come from the config key ``resources`` (schema defaults: base-size models on one GPU):
the model family's values (``resources.tiny`` for a locally built tiny model), replaced key by key
by ``models.<name>.resources``, the runtime multiplied by ``resources.methods.<method>.runtime_factor``
(e.g. a method that scores one prompt per word) and ``resources.tasks.<task>.runtime_factor`` (a far
larger dataset), and ``mem_mb`` multiplied by
``resources.retry_mem_factor`` per failed attempt (Snakemake's ``attempt``). Profiles then only name
partitions and accounts. Pure functions of the resolved config: the workflow's resource functions
(workflow/rules/common.smk) and ``python -m xlie plan`` call them.
"""

from __future__ import annotations

import math

KINDS = ("train", "eval")  # train_run, evaluate_run
RESOURCE_KEYS = ("gpu", "mem_mb", "cpus_per_task", "runtime")


def model_resources(config: dict, model_name: str) -> dict:
    """The model's resource settings before method and attempt: its family's (or ``resources.tiny``),
    with ``models.<name>.resources`` on top."""
    settings = config["resources"]
    model = config["models"][model_name]
    base = settings["tiny"] if model.get("tiny", False) else settings["families"][model["family"]]
    return {**base, **model.get("resources", {})}


def job_resources(config: dict, run: dict, kind: str, attempt: int = 1) -> dict[str, int]:
    """``{gpu, mem_mb, cpus_per_task, runtime}`` of one job: ``kind`` ``train`` (train_run) or
    ``eval`` (evaluate_run) of ``run`` (a dict with ``model``, ``method`` and ``task``), on
    Snakemake's ``attempt`` (1 for the first try)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    values = model_resources(config, run["model"])
    settings = config["resources"]
    factor = settings["methods"].get(run["method"], {}).get("runtime_factor", 1)
    factor *= settings["tasks"].get(run.get("task"), {}).get("runtime_factor", 1)
    growth = settings["retry_mem_factor"] ** (attempt - 1)
    return {
        "gpu": int(values["gpu"]),
        "mem_mb": math.ceil(values["mem_mb"] * growth),
        "cpus_per_task": int(values["cpus_per_task"]),
        "runtime": math.ceil(values[f"runtime_{kind}"] * factor),
    }
