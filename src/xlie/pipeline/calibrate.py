"""Measured GPU-hours: ``python -m xlie calibrate`` times each planned path on the user's hardware.

For every distinct (model, method, task) of the planned campaign (the first run of each: its source,
variant and seed), on the configured data and through the workflow's own training inputs
(:func:`xlie.pipeline.jobs._training_inputs`) and the method's registered train and predict functions:

- training, one epoch on the examples of ``steps`` optimiser steps and again on twice as many: the difference of the two wall
  times gives the rate (examples/s) without the fixed part (model load, a dev evaluation on a few
  batches, saving), which is kept as the job's overhead;
- prediction, a model loaded once (the trained one, or the base model of a zero-shot method), on
  ``steps`` and twice as many evaluation batches of the run's first target: a rate and the load time.

Each job is then extrapolated to its full size: training examples (``max_train_sentences`` applied) x
epochs / rate, plus the epochs' dev evaluations at the prediction rate, plus the overhead; evaluation,
a target's mean examples / rate plus the model load shared by the run's targets. The figures go to a
``cost_model`` file (per model, method and task under ``models.<m>.<method>.by_task``, each marked
``measured``; the hardware, date and steps at its top) that the config key ``cost_model.calibrated``
names (``python -m xlie plan --cost-model FILE`` sets it): the plan and the workflow's requested
runtimes then use it over the configured estimates, and the plan's rows say basis ``measured``. One device's hours count as GPU-hours:
a job on several GPUs trains data-parallel, roughly the same GPU-hours. Peak memory is the device's
(CUDA) peak allocation, or on CPU the process's maximum resident set so far.
"""

from __future__ import annotations

import datetime
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

import yaml

DEFAULT_OUT = "results/cost_model.calibrated.yaml"
# Every rule the training and evaluation jobs depend on (data, tiny or converted models), none of those jobs.
BUILD_INPUTS = "build the jobs' inputs first: snakemake --omit-from train_run evaluate_run (same --config)"


def hardware() -> str:
    """The device the figures were measured on, in words."""
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (CUDA, torch {torch.__version__})"
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line]
        cpu = names[0] if names else cpu
    return f"CPU {cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"


def _reset_peak_memory() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def _peak_memory_mb() -> float:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# The extra examples of the larger timed run must add at least this share of its time for the difference
# of the two timings to say more than their noise (timings on a loaded machine vary by some 5-10%).
MEASURABLE_SHARE = 0.1


def _rate(small: tuple[int, float], large: tuple[int, float]) -> tuple[float, float, str]:
    """(examples/s, fixed seconds, how) from two timed runs (examples, seconds) of one path: from their
    difference (how "difference"), or, where the extra examples add less than MEASURABLE_SHARE of the
    larger run's time (the fixed part drowns them), the larger run's plain average with no fixed part
    (how "average": an upper bound on the cost; time more --steps to separate them)."""
    (n1, t1), (n2, t2) = small, large
    if n2 > n1 and t2 - t1 >= MEASURABLE_SHARE * t2:
        rate = (n2 - n1) / (t2 - t1)
        return rate, max(0.0, t1 - n1 / rate), "difference"
    return n2 / max(t2, 1e-9), 0.0, "average"


def _sizes(available: int, wanted: int) -> tuple[int, int]:
    """The two timed sizes: ``wanted`` examples and twice as many, halved where the data are fewer."""
    large = min(available, 2 * wanted)
    return max(1, min(wanted, large // 2)), large


def calibration_runs(config: dict, cells, only: list[str] | None = None) -> list[dict]:
    """The first planned run of each distinct (model, method, task); ``only``: ``model/method`` or
    ``model/method/task`` patterns that keep those paths alone."""
    from xlie.pipeline.grid import training_runs

    chosen: dict[tuple, dict] = {}
    for run in training_runs(cells).to_dict("records"):
        key = (run["model"], run["method"], run["task"])
        if only and not any(key[: len(p.split("/"))] == tuple(p.split("/")) for p in only):
            continue
        chosen.setdefault(key, run)
    if only and not chosen:
        raise ValueError(f"--only {' '.join(only)}: no planned run has that model/method[/task]")
    return list(chosen.values())


def _time_training(options: dict, limit: int, fields: set[str], dev_limit: int, workdir: Path) -> float:
    """Seconds to train ``options``'s run for one epoch on its first ``limit`` examples (``fields``: its
    Params' names; a configured ``max_steps`` would train as long on any number of examples)."""
    from xlie.pipeline.jobs import _training_inputs
    from xlie.pipeline.registry import implementation

    one_epoch = {"epochs": 1, "max_steps": -1}
    params = {**options["params"], **{k: v for k, v in one_epoch.items() if k in fields}}
    options = {**options, "params": params, "max_train_sentences": limit}
    task, spec, _, params, _, train, dev, _ = _training_inputs(options, attempt=1)
    train_fn, _ = implementation(spec)
    run = options["run"]
    out, checkpoints = workdir / f"model-{limit}", workdir / f"checkpoints-{limit}"
    started = time.perf_counter()
    train_fn(
        options["model"]["path"],
        run["task"],
        train,
        dev[:dev_limit],
        out,
        checkpoints,
        params,
        int(run["seed"]),
        **task.method_kwargs(options["data"]),
    )
    return time.perf_counter() - started


def measure_run(config: dict, run: dict, steps: int, workdir: Path) -> dict:
    """Rates, overheads, full job sizes and GPU-hours of one run's training and evaluation."""
    import dataclasses

    from xlie.pipeline.jobs import eval_options, load_split, train_options
    from xlie.pipeline.params import strict_from_dict
    from xlie.pipeline.registry import implementation, method_spec, params_class

    spec = method_spec(run["method"], config["models"][run["model"]]["family"])
    evaluation = eval_options(config, run, run["targets"])
    params_cls = params_class(spec)
    params = strict_from_dict(params_cls, evaluation["params"])
    fields = {f.name for f in dataclasses.fields(params_cls)}
    eval_batch = getattr(params, "eval_batch_size", None) or getattr(params, "batch_size", None) or 8
    _reset_peak_memory()
    figures: dict = {}
    model_dir = evaluation["model"]["path"]
    dev_examples = 0.0  # the full job's dev evaluations, timed at the prediction rate
    if not spec.zero_shot:
        training = train_options(config, run)
        train, _ = load_split(training["data"], run["task"], "train", run["source"])
        dev, _ = load_split(training["data"], run["task"], "dev", run["source"])
        full = min(len(train), training["max_train_sentences"] or len(train))
        epochs = float(getattr(params, "epochs", 1))
        max_steps = getattr(params, "max_steps", -1) or -1
        accumulated = getattr(params, "batch_size", 8) * (getattr(params, "grad_accum", 1) or 1)
        step = getattr(params, "effective_batch_size", None) or accumulated  # examples per optimiser step
        seen = max_steps * step if max_steps > 0 else full * epochs  # examples the full job trains on
        small, large = _sizes(full, steps * step)
        timed = [(n, _time_training(training, n, fields, eval_batch, workdir)) for n in (small, large)]
        train_rate, train_overhead, how = _rate(*timed)
        figures["train"] = {
            "examples": round(seen),
            "examples_per_s": train_rate,
            "overhead_s": train_overhead,
            "rate_from": how,
        }
        model_dir = str(workdir / f"model-{large}")
        dev_size = min(len(dev), getattr(params, "dev_max_sentences", None) or len(dev))
        dev_examples = dev_size * (epochs if max_steps <= 0 else 1)
    _, load_predictor = implementation(spec)
    started = time.perf_counter()
    predict = load_predictor(model_dir, run["task"], evaluation["params"])
    load_s = time.perf_counter() - started
    data = evaluation["data"]
    target_sizes = [len(load_split(data, run["task"], data["eval_split"], t)[0]) for t in run["targets"]]
    examples, _ = load_split(data, run["task"], data["eval_split"], run["targets"][0])
    timed = []
    for n in _sizes(len(examples), steps * eval_batch):
        started = time.perf_counter()
        predict(examples[:n], desc=f"calibrate {n}")
        timed.append((n, time.perf_counter() - started))
    predict_rate, predict_overhead, how = _rate(*timed)
    mean_target = sum(target_sizes) / len(target_sizes)
    figures["predict"] = {
        "examples_per_target": round(mean_target),
        "examples_per_s": predict_rate,
        "load_s": load_s + predict_overhead,
        "rate_from": how,
    }
    figures["peak_memory_mb"] = round(_peak_memory_mb())
    hours: dict = {}
    if "train" in figures:
        t = figures["train"]
        seconds = t["overhead_s"] + t["examples"] / t["examples_per_s"] + dev_examples / predict_rate
        hours["train"] = seconds / 3600
    per_target = mean_target / predict_rate + figures["predict"]["load_s"] / len(target_sizes)
    hours["eval_per_target"] = per_target / 3600
    return {"hours": hours, "figures": figures}


def cost_model_from(measurements: dict, marked: dict) -> dict:
    """The ``cost_model`` file: the hardware, date and steps (``measured``), and the GPU-hours of each
    ``models.<m>.<method>.by_task.<task>``, marked ``measured`` with the rates and memory behind them."""
    models: dict = {}
    for (model, method, task), measured in measurements.items():
        entry = models.setdefault(model, {}).setdefault(method, {"by_task": {}})
        rounded = {kind: float(f"{value:.4g}") for kind, value in measured["hours"].items()}
        entry["by_task"][task] = {**rounded, "measured": _plain(measured["figures"])}
    return {"measured": dict(marked), "models": models}  # copies: YAML without anchors


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return float(f"{value:.4g}") if isinstance(value, float) else value


def calibrate(
    configfiles: list[str],
    overrides: list[str],
    out: str | Path = DEFAULT_OUT,
    only: list[str] | None = None,
    steps: int = 2,
) -> tuple[str, int]:
    """Measure every planned (model, method, task) path (or ``only`` those), write the cost_model file
    ``out`` and return (a summary, one line per path; how many paths were skipped for want of data)."""
    from xlie.pipeline.grid import build_cells
    from xlie.pipeline.plan import load_workflow_config

    if steps < 1:
        raise ValueError(f"--steps must be at least 1, got {steps}")
    config = load_workflow_config(configfiles, overrides)
    runs = calibration_runs(config, build_cells(config), only)
    marked = {
        "hardware": hardware(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "steps": steps,
    }
    measurements, lines, skipped = {}, [], 0
    for run in runs:
        path = f"{run['model']}/{run['method']}/{run['task']}"
        workdir = Path(tempfile.mkdtemp(prefix="xlie-calibrate-"))
        try:
            measured = measure_run(config, run, steps, workdir)
        except FileNotFoundError as error:  # data a workflow rule builds (or the user's copy) is not there yet
            lines.append(f"{path}: SKIPPED, its input is missing ({error}); {BUILD_INPUTS}")
            skipped += 1
            continue
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        measurements[(run["model"], run["method"], run["task"])] = measured
        hours, figures = measured["hours"], measured["figures"]
        train = f"train {hours['train']:.4g} GPU-h, " if "train" in hours else ""
        lines.append(
            f"{path}: {train}eval {hours['eval_per_target']:.4g} GPU-h per "
            f"target; predict {figures['predict']['examples_per_s']:.1f} examples/s"
            + (f", train {figures['train']['examples_per_s']:.1f} examples/s" if "train" in figures else "")
            + f", peak memory {figures['peak_memory_mb']} MB"
            + "".join(
                f"; {kind} rate a plain average (fixed cost drowns the steps: an upper bound, try more --steps)"
                for kind in ("train", "predict")
                if figures.get(kind, {}).get("rate_from") == "average"
            )
        )
    if not measurements:
        raise ValueError("no path could be measured:\n" + "\n".join(lines))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# python -m xlie calibrate: GPU-hours measured on this hardware; name this file in the config key "
        "cost_model.calibrated (or `python -m xlie plan --cost-model FILE`) to plan and run with them\n"
    )
    text = yaml.safe_dump(cost_model_from(measurements, marked), sort_keys=False, allow_unicode=True)
    Path(out).write_text(header + text, encoding="utf-8")
    summary = [f"Measured on {marked['hardware']}, {steps} steps per path:", *lines, f"Written to {out}."]
    return "\n".join(summary), skipped
