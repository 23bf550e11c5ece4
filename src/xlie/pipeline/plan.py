"""A plan before spending: GPU jobs per rule and estimated GPU-hours of the chosen preset, run nothing.

``python -m xlie plan [--config KEY=VALUE ...] [--configfile FILE ...]`` in the repository root
resolves the config as the workflow does (config.yaml, then --configfile, then --config, on the
preset), derives the cell grid and prints, per rule (train_run, evaluate_run), paper, task, model
and method: jobs, jobs whose output is already there, what each asks for (xlie.pipeline.resources), and GPU-
hours from the config's ``cost_model`` (rough per-job figures by model family and method, a model's
own entry on top, ``cost_model.tiny`` for the demo's tiny models, the measured figures of
``cost_model.calibrated`` over them), or, where it has none, from the requested runtime (an upper
bound), and the attempts each job needs at that runtime; beside them, the same campaign under the
authors' recipe from the per-path ratios that benchmarks in tools/ measured (``authors_ratio``). It writes the same table to
results/plan.tsv, then fails (PlanError) naming every job that needs more attempts than ``resources.attempts``.
Data, table and plot rules run on CPU in minutes and are not costed (``snakemake -n --quiet rules`` counts
every rule's jobs).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from xlie.pipeline.grid import training_runs
from xlie.pipeline.registry import method_spec
from xlie.pipeline.resources import authors_ratio, is_measured, job_cost, job_resources, job_runtime

RULES = {"train": "train_run", "eval": "evaluate_run"}
GROUP = ["rule", "paper", "task", "model", "method"]
FIT_ADVICE = (
    "Raise resources.max_runtime (up to your partition's time limit), resources.attempts together with the "
    "profile's retries (attempts = retries + 1), or the model's GPUs (models.<name>.resources.gpu); or lower "
    "its cost_model figure if it is too high (python -m xlie calibrate measures it)."
)


class PlanError(ValueError):
    """Jobs that cannot finish within the attempts the scheduler gives (resources.attempts)."""


def plan_jobs(config: dict, cells: pd.DataFrame, results_dir: str | Path = "results") -> pd.DataFrame:
    """One row per train_run / evaluate_run job the grid makes, with its resources and GPU-hours."""
    rows = []
    for run in training_runs(cells).to_dict("records"):
        spec = method_spec(run["method"], config["models"][run["model"]]["family"])
        kinds = ("eval",) if spec.zero_shot else ("train", "eval")
        for kind in kinds:
            resources = job_resources(config, run, kind)
            fit = job_runtime(config, run, kind)
            cost = job_cost(config, run, kind)
            bound = resources["runtime"] / 60 * resources["gpu"]
            hours = bound if cost is None else cost
            ratio = authors_ratio(config, run, kind)
            output = Path(results_dir) / "runs" / run["run"] / ("model" if kind == "train" else "eval")
            rows.append(
                {
                    "rule": RULES[kind],
                    **{k: run[k] for k in ("paper", "task", "model", "method", "variant", "source", "seed")},
                    "targets": len(run["targets"]),
                    "done": output.exists(),
                    "gpu": resources["gpu"],
                    "mem_mb": resources["mem_mb"],
                    "runtime_h": resources["runtime"] / 60,
                    "gpu_hours": hours,
                    "basis": "runtime" if cost is None else ("measured" if is_measured(config, run) else "cost_model"),
                    "estimate_h": fit.estimate_h,
                    "attempts": fit.attempts,
                    "authors_ratio": ratio,
                    # the same job under the authors' recipe; where no benchmark measured it, as ours
                    "authors_gpu_hours": hours * (1.0 if ratio is None else ratio),
                }
            )
    return pd.DataFrame(rows)


def summarise(jobs: pd.DataFrame) -> pd.DataFrame:
    """Jobs grouped by rule, paper, task, model and method; GPU-hours in total and still to spend."""
    jobs = jobs.assign(remaining=jobs["gpu_hours"].where(~jobs["done"], 0.0))
    grouped = jobs.groupby(GROUP, sort=False)
    return grouped.agg(
        jobs=("rule", "size"),
        done=("done", "sum"),
        gpu=("gpu", "max"),
        mem_mb=("mem_mb", "max"),
        runtime_h=("runtime_h", "max"),
        gpu_hours=("gpu_hours", "sum"),
        remaining_gpu_hours=("remaining", "sum"),
        basis=("basis", lambda b: "/".join(sorted(set(b)))),
        estimate_h=("estimate_h", "max"),
        attempts=("attempts", "max"),
        authors_ratio=("authors_ratio", "max"),
        authors_gpu_hours=("authors_gpu_hours", "sum"),
    ).reset_index()


def unfit(summary: pd.DataFrame, config: dict) -> list[str]:
    """One line per group of jobs that need more attempts than the scheduler gives (resources.attempts)."""
    settings = config["resources"]
    cap = settings["max_runtime"]
    return [
        f"{r.rule} {r.paper}/{r.task}/{r.model}/{r.method}: estimated {r.estimate_h:,.1f} h per job on {r.gpu} GPU(s), "
        f"asks for {r.runtime_h:,.1f} h (resources.max_runtime {cap} min): needs {r.attempts} attempts, "
        f"resources.attempts is {settings['attempts']}"
        for r in summary[summary["attempts"] > settings["attempts"]].itertuples()
    ]


def render(summary: pd.DataFrame, preset: str) -> str:
    """The table a user reads, with totals per rule and a note on what the figures are."""
    shown = summary.drop(columns="authors_gpu_hours")
    for column in ("runtime_h", "gpu_hours", "remaining_gpu_hours", "estimate_h"):
        shown[column] = shown[column].map(lambda v: "-" if pd.isna(v) else f"{v:,.1f}")
    shown["authors_ratio"] = shown["authors_ratio"].map(lambda v: "-" if pd.isna(v) else f"{v:.2f}x")
    lines = [f"Plan of preset {preset!r}: GPU jobs (nothing runs)", shown.to_string(index=False), ""]
    for rule, part in summary.groupby("rule", sort=False):
        lines.append(
            f"{rule}: {part['jobs'].sum()} jobs ({part['done'].sum()} with outputs present), "
            f"{part['gpu_hours'].sum():,.1f} GPU-hours, {part['remaining_gpu_hours'].sum():,.1f} still to spend"
        )
    lines.append(
        f"total: {summary['jobs'].sum()} GPU jobs, {summary['gpu_hours'].sum():,.1f} GPU-hours, "
        f"{summary['remaining_gpu_hours'].sum():,.1f} still to spend"
    )
    lines.extend(authors_recipe(summary))
    lines.append(
        "GPU-hours: cost_model's rough per-job figures (basis cost_model), figures python -m xlie calibrate "
        "measured on your hardware (basis measured: the file named by cost_model.calibrated), else the requested "
        "runtime x GPUs (basis runtime, an upper bound). runtime_h, mem_mb: what one job asks for (config key "
        "resources); estimate_h: its hours per job (GPU-hours / GPUs), which raise runtime_h to estimate_h x "
        "resources.runtime_margin, at most resources.max_runtime; attempts: the tries it needs at runtime_h; "
        "authors_ratio: the authors' recipe's cost over ours on that path (cost_model authors_ratio)."
    )
    resumed = summary[summary["attempts"] > 1]
    if len(resumed):
        names = ", ".join(
            f"{r.rule} {r.paper}/{r.task}/{r.model}/{r.method} ({r.attempts})" for r in resumed.itertuples()
        )
        lines.append(
            f"Longer than resources.max_runtime, run over several attempts: {names}; each attempt resumes where the "
            "last stopped (training from its checkpoints, evaluation from its chunks)."
        )
    lines.append(
        "CPU rules (data, tables, plots) are not costed; `snakemake -n --quiet rules` counts every rule's jobs."
    )
    return "\n".join(lines)


def authors_recipe(summary: pd.DataFrame) -> list[str]:
    """The campaign under the authors' recipe beside ours, from the measured per-path ratios; no line
    when no path has one."""
    measured = summary["authors_ratio"].notna()
    if not measured.any():
        return []
    ours, theirs = summary["gpu_hours"].sum(), summary["authors_gpu_hours"].sum()
    unmeasured = summary.loc[~measured, "gpu_hours"].sum()
    return [
        f"the same jobs under the authors' recipe: {theirs:,.1f} GPU-hours; ours {ours:,.1f} = {ours / theirs:.2f}x "
        f"theirs. Ratios measured side by side with identical outputs (cost_model authors_ratio: their "
        f"batching, padding, precision and decoding against ours) cover {ours - unmeasured:,.1f} of our GPU-hours; "
        f"the other {unmeasured:,.1f} count as 1x (no benchmark)."
    ]


def load_workflow_config(
    configfiles: list[str], overrides: list[str], root: str | Path = ".", keys: dict | None = None
) -> dict:
    """The config the workflow would run with, from the repository ``root``: config.yaml, then each
    ``configfiles``, then ``overrides`` (``KEY=VALUE``, parsed as ``snakemake --config`` parses them),
    then ``keys``, on the preset; validated with the schema's defaults filled in, models checked."""
    import yaml
    from snakemake.cli import parse_config  # exactly how `snakemake --config` reads KEY=VALUE

    from xlie.pipeline.config import check_model_paths, deep_merge, resolve

    root = Path(root)
    user: dict = {}
    for path in [root / "config.yaml", *map(Path, configfiles)]:
        if path == root / "config.yaml" and not path.is_file():
            continue
        user = deep_merge(user, yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    user = deep_merge(deep_merge(user, parse_config(overrides)), keys or {})
    schema_path = root / "workflow" / "schemas" / "config.schema.yaml"
    config = resolve(user, presets_dir=root / "workflow" / "presets", schema_path=schema_path)
    check_model_paths(config)
    return config


def plan(
    configfiles: list[str], overrides: list[str], out: str | Path = "results/plan.tsv", cost_model_file=None
) -> str:
    """Resolve the config, plan its GPU jobs, write ``out`` (TSV, one row per group) and return the printed table;
    ``cost_model_file`` (what ``python -m xlie calibrate`` writes) sets ``cost_model.calibrated``."""
    from xlie.pipeline.grid import build_cells

    calibrated = {} if cost_model_file is None else {"cost_model": {"calibrated": str(cost_model_file)}}
    config = load_workflow_config(configfiles, overrides, keys=calibrated)
    summary = summarise(plan_jobs(config, build_cells(config)))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    summary.to_csv(out, sep="\t", index=False, float_format="%.3f")
    if problems := unfit(summary, config):
        raise PlanError(
            "\n".join(
                [
                    f"these jobs cannot finish in the attempts the scheduler gives (the plan is in {out}):",
                    *problems,
                    FIT_ADVICE,
                ]
            )
        )
    return render(summary, config["preset"]) + f"\nWritten to {out}."
