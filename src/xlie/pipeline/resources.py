"""What one training or evaluation job asks the scheduler for: from its model and method, not its rule.

One rule (``train_run``) trains mBERT and models many times its size, so ``set-resources`` per rule
cannot tell the jobs apart. Each job's ``gpu``, ``mem_mb``, ``cpus_per_task`` and ``runtime``
(minutes) come from the config key ``resources`` (schema defaults: base-size models on one GPU):
the model family's values (``resources.tiny`` for a locally built tiny model), replaced key by key
by ``models.<name>.resources``, the runtime multiplied by ``resources.methods.<method>.runtime_factor``
(e.g. a method that scores one prompt per word) and ``resources.tasks.<task>.runtime_factor`` (a far
larger dataset), and ``mem_mb`` multiplied by
``resources.retry_mem_factor`` per failed attempt (Snakemake's ``attempt``). A job that ``cost_model``
estimates longer than that runtime (its GPU-hours over its GPUs) asks for the estimate times
``resources.runtime_margin`` instead, at most ``resources.max_runtime``; beyond the cap it needs more than
one attempt (training resumes from its checkpoints, evaluation from its chunks), and ``python -m xlie plan``
fails when it needs more than ``resources.attempts``. Profiles then only name partitions and accounts.
Pure functions of the resolved config: the workflow's resource functions (workflow/rules/common.smk) and
``python -m xlie plan`` call them, so both ask for the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

KINDS = ("train", "eval")  # train_run, evaluate_run
RESOURCE_KEYS = ("gpu", "mem_mb", "cpus_per_task", "runtime")


def model_resources(config: dict, model_name: str) -> dict:
    """The model's resource settings before method and attempt: its family's (or ``resources.tiny``),
    with ``models.<name>.resources`` on top."""
    settings = config["resources"]
    model = config["models"][model_name]
    base = settings["tiny"] if model.get("tiny", False) else settings["families"][model["family"]]
    return {**base, **model.get("resources", {})}


def cost_entry(config: dict, run: dict) -> dict:
    """``run``'s figures in ``cost_model``: its family's entry for its method (``cost_model.tiny`` for a
    tiny model: never its family's size), then its ``by_task`` entry, then the model's own entry and its
    ``by_task`` entry (so a calibrated task of one model replaces only that task's figures); {} if none."""
    costs = config.get("cost_model", {})
    model = config["models"][run["model"]]
    if model.get("tiny", False):
        base = costs.get("tiny")
    else:
        base = costs.get("families", {}).get(model["family"], {}).get(run["method"])
    values: dict = {}
    for entry in (base, costs.get("models", {}).get(run["model"], {}).get(run["method"])):
        if entry:
            values.update({key: value for key, value in entry.items() if key != "by_task"})
            values.update(entry.get("by_task", {}).get(run.get("task"), {}))
    return values


def job_cost(config: dict, run: dict, kind: str) -> float | None:
    """GPU-hours of one job from :func:`cost_entry` (None: no figure for this job; for ``eval``, also
    when ``run`` does not say its ``targets``)."""
    values = cost_entry(config, run)
    if kind == "train":
        return values.get("train")
    per_target = values.get("eval_per_target")
    return None if per_target is None or "targets" not in run else per_target * len(run["targets"])


def authors_ratio(config: dict, run: dict, kind: str) -> float | None:
    """How many times our GPU-hours one job of ``run`` costs under the authors' recipe (``authors_ratio``
    of its cost entry, measured by a benchmark in tools/); None where no benchmark measured it."""
    return cost_entry(config, run).get("authors_ratio", {}).get(kind)


def is_measured(config: dict, run: dict) -> bool:
    """Whether ``run``'s figures are measured (``python -m xlie calibrate`` marks each task it measured)."""
    return "measured" in cost_entry(config, run)


@dataclass(frozen=True)
class RuntimeFit:
    """How one job's runtime (minutes) fits its estimate."""

    configured: int  # from resources (family / model, method and task factors)
    runtime: int  # what the job asks for
    estimate_h: float | None  # wall-clock hours from cost_model (GPU-hours / GPUs); None: no estimate
    attempts: int  # tries it needs at that runtime, each resuming where the last stopped
    allowed: int  # resources.attempts: the tries the scheduler gives

    @property
    def fits(self) -> bool:
        return self.attempts <= self.allowed


def job_runtime(config: dict, run: dict, kind: str) -> RuntimeFit:
    """The runtime one job asks for: its configured runtime, or, where ``cost_model`` estimates it longer,
    ``ceil(estimate x resources.runtime_margin)`` minutes capped at ``resources.max_runtime`` (a configured
    runtime is never shortened); and the attempts it needs at that runtime."""
    values = model_resources(config, run["model"])
    settings = config["resources"]
    factor = settings["methods"].get(run["method"], {}).get("runtime_factor", 1)
    factor *= settings["tasks"].get(run.get("task"), {}).get("runtime_factor", 1)
    configured = math.ceil(values[f"runtime_{kind}"] * factor)
    allowed = settings["attempts"]
    cost = job_cost(config, run, kind)
    gpus = int(values["gpu"])
    if cost is None or gpus == 0:  # no estimate (or no GPU to divide GPU-hours by): as configured
        return RuntimeFit(configured, configured, None, 1, allowed)
    estimate_h = cost / gpus
    wanted = math.ceil(round(estimate_h * 60 * settings["runtime_margin"], 6))  # float noise adds no minute
    runtime = max(configured, min(wanted, settings["max_runtime"]))
    return RuntimeFit(configured, runtime, estimate_h, max(1, math.ceil(estimate_h * 60 / runtime)), allowed)


def job_resources(config: dict, run: dict, kind: str, attempt: int = 1) -> dict[str, int]:
    """``{gpu, mem_mb, cpus_per_task, runtime}`` of one job: ``kind`` ``train`` (train_run) or
    ``eval`` (evaluate_run) of ``run`` (a dict with ``model``, ``method`` and ``task``, and for an
    evaluation's estimate its ``targets``), on Snakemake's ``attempt`` (1 for the first try)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    values = model_resources(config, run["model"])
    growth = config["resources"]["retry_mem_factor"] ** (attempt - 1)
    return {
        "gpu": int(values["gpu"]),
        "mem_mb": math.ceil(values["mem_mb"] * growth),
        "cpus_per_task": int(values["cpus_per_task"]),
        "runtime": job_runtime(config, run, kind).runtime,
    }
