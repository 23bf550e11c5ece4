# Load and validate the config, derive the cell grid once, and name the small input
# functions every rule uses. No rules here.
from pathlib import Path

from snakemake.utils import validate

from xlie.pipeline import jobs
from xlie.pipeline.config import check_model_paths, config_schema, resolve, schema_file
from xlie.pipeline.grid import RUN_COLUMNS, RUN_PATH, build_cells, training_runs
from xlie.pipeline.keep import PreviousOutputs
from xlie.pipeline.registry import (
    load_papers,
    method_spec,
    method_train_inputs,
    task_type,
)
from xlie.pipeline.resources import job_resources, model_resources
from xlie.report import compose

# Each paper's paper.yaml underneath, the preset on it, the user's keys on top, validated and with
# every schema default filled in; errors name the key before any job runs.
_CORE_SCHEMA = Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"
_resolved = resolve(
    config,
    presets_dir=Path(workflow.basedir) / "workflow" / "presets",
    schema_path=_CORE_SCHEMA,
)
config.clear()
config.update(_resolved)
# Snakemake's own check of the result. Its validate reads one schema file: the core schema merged
# with each paper's schema.yaml (what resolve() validated against) goes to a temporary one.
with schema_file(config_schema(config, _CORE_SCHEMA)) as _schema:
    validate(config, schema=_schema)
check_model_paths(config)
# The papers under xlie.papers and those named by papers.<name>.package.
load_papers(config)

CELLS = build_cells(config)
RUNS = training_runs(CELLS).set_index("run", drop=False)
# Every existing local data file and model directory the jobs will read, checked before any job is
# scheduled (a job that fails on its input has already lost its previous outputs); verdicts cached in
# .snakemake/xlie/. Job processes that parse this file again (cluster jobs) skip it: their driver checked.
if workflow.is_main_process:
    from xlie.pipeline.validation import validate_inputs

    validate_inputs(config, RUNS.to_dict("records"))
TABLES = CELLS[["paper", "table"]].drop_duplicates()
# Methods that train (the rest are zero-shot and evaluate the base model).
TRAINED_METHODS = (
    "|".join(
        sorted(
            {
                m
                for m, model in zip(CELLS["method"], CELLS["model"])
                if not method_spec(m, config["models"][model]["family"]).zero_shot
            }
        )
    )
    or "none"
)
# Only the tiny models some table uses are built (no dead work for unused models).
TINY_FAMILIES = sorted(
    {
        config["models"][m]["family"]
        for m in CELLS["model"].unique()
        if config["models"][m].get("tiny", False)
    }
)
# Models converted into a natively supported layout before any job loads them (models.<m>.convert).
CONVERTED_MODELS = sorted(
    m for m in CELLS["model"].unique() if jobs.is_converted(config["models"][m])
)


wildcard_constraints:
    paper="|".join(sorted(CELLS["paper"].unique())),
    task="|".join(sorted(CELLS["task"].unique())),
    model="|".join(sorted(config["models"])),
    method="|".join(sorted(CELLS["method"].unique())),
    variant="|".join(sorted(CELLS["variant"].unique())),
    source="|".join(sorted(CELLS["source"].unique())),
    seed=r"\d+",
    table="|".join(sorted(TABLES["table"].unique())),


def run_of(wildcards):
    """The training run (one row of RUNS) a job's wildcards name (RUN_PATH, xlie.pipeline.grid:
    a run's path below results/runs/, logs/ and benchmarks/)."""
    return RUNS.loc[RUN_PATH.format(**wildcards)]


def run_dict(wildcards):
    row = run_of(wildcards)
    return {k: (int(row[k]) if k == "seed" else str(row[k])) for k in RUN_COLUMNS}


def run_targets(wildcards):
    return list(run_of(wildcards)["targets"])


def train_options(wildcards):
    """Everything a training job reads from the config (its params): a change reruns it."""
    return jobs.train_options(config, run_dict(wildcards))


def eval_options(wildcards):
    return jobs.eval_options(config, run_dict(wildcards), run_targets(wildcards))


def run_spec(wildcards):
    return method_spec(wildcards.method, config["models"][wildcards.model]["family"])


def job_resource(kind, name):
    """A resource function giving one of a train_run (kind "train") or evaluate_run ("eval")
    job's resources (gpu, mem_mb, cpus_per_task, runtime) from its model and method (config
    key resources, xlie.pipeline.resources); mem_mb grows with Snakemake's attempt."""

    def resource(wildcards, attempt):
        # with its targets: an evaluation's estimate (and so its runtime) counts them, as plan's does
        run = {**run_dict(wildcards), "targets": run_targets(wildcards)}
        return job_resources(config, run, kind, attempt)[name]

    resource.__name__ = f"{kind}_{name}"
    return resource


def job_attempt(wildcards, attempt):
    """Snakemake's attempt (1, then 2, ... on retries) as a resource: scripts cannot see it
    otherwise (params cannot take it), and a resource is no rerun trigger. A training job
    that ran out of memory halves its per-device batch on each further attempt."""
    return attempt


def model_path(wildcards):
    """Where the jobs load the model from (its converted copy when models.<m>.convert is set)."""
    return jobs.model_load_path(config, wildcards.model)


def model_input(wildcards):
    """A locally built or converted model is a job's input; a hub id is not a file."""
    model = config["models"][wildcards.model]
    if jobs.is_converted(model):
        return [model_path(wildcards)]
    return [tiny_model_dir(model["family"])] if model.get("tiny", False) else []


def conversion_source(wildcards):
    """What convert_model reads: a local directory (an input), or a hub id (no file: the job
    fetches it into the hub cache)."""
    path = config["models"][wildcards.model]["path"]
    return [path] if Path(path).expanduser().is_dir() else []


def conversion_options(wildcards):
    """The conversion and its source (the job's params: changing either converts again)."""
    model = config["models"][wildcards.model]
    return {"kind": model["convert"], "source": model["path"]}


def conversion_mem_mb(wildcards):
    """The model's own memory (models.<m>.resources, else its family's): loading its weights is most of it."""
    return model_resources(config, wildcards.model)["mem_mb"]


def is_zero_shot(wildcards):
    return run_spec(wildcards).zero_shot


def trained_model_dir(wildcards):
    return f"results/runs/{RUN_PATH.format(**wildcards)}/model"


def evaluated_model(wildcards):
    """The fine-tuned model, or for zero-shot methods the base model (a file only when local)."""
    return (
        model_input(wildcards)
        if is_zero_shot(wildcards)
        else [trained_model_dir(wildcards)]
    )


def evaluated_model_path(wildcards):
    return (
        model_path(wildcards)
        if is_zero_shot(wildcards)
        else trained_model_dir(wildcards)
    )


def tiny_model_dir(family):
    return f"results/models/tiny/{family}"


def train_data(wildcards):
    """The data files a training job reads, declared as inputs: its source's train and dev
    data (the task type names them) and what its method reads besides (train_inputs)."""
    task = task_type(wildcards.task)
    return list(
        dict.fromkeys(
            task.input_files(config, "train", [wildcards.source])
            + task.input_files(config, "dev", [wildcards.source])
            + method_train_inputs(run_spec(wildcards), config, run_dict(wildcards))
        )
    )


def eval_data(wildcards):
    task = task_type(wildcards.task)
    return task.input_files(
        config, task.eval_split(config), run_targets(wildcards)
    ) + task.input_files(config, "train", [wildcards.source])


def eval_dirs(wildcards=None):
    return [f"results/runs/{run}/eval" for run in RUNS.index]


def table_outputs(ext):
    return [
        f"results/tables/{row.paper}_{row.table}.{ext}" for row in TABLES.itertuples()
    ]


def table_key(wildcards):
    return (CELLS["paper"] == wildcards.paper) & (CELLS["table"] == wildcards.table)


def table_cells(wildcards):
    """One table's cells (plain dicts: a params change reruns only this table's collection)."""
    return CELLS[table_key(wildcards)].to_dict("records")


def table_eval_dirs(wildcards):
    """The eval directories of one table's runs only: a table builds alone."""
    runs = dict.fromkeys(CELLS.loc[table_key(wildcards), "run"])
    return [f"results/runs/{run}/eval" for run in runs]


def table_metric(wildcards):
    """The metric a table shows (None: the task's own); its metrics CSV depends on nothing else."""
    return config["papers"][wildcards.paper]["tables"][wildcards.table].get("metric")


def table_options(wildcards):
    """Everything a table's rendering reads from config (its params, all the job reads):
    editing it reruns only that table."""
    return compose.table_options(config, wildcards.paper, wildcards.table)


def plot_options(wildcards):
    """Everything a table's plots read from config (no reference rows)."""
    return compose.table_options(
        config, wildcards.paper, wildcards.table, references=False
    )


def reported_file(wildcards):
    reported = config["papers"][wildcards.paper]["tables"][wildcards.table].get(
        "reported"
    )
    return [reported["file"]] if reported else []


def paper_table_metrics(wildcards):
    return [
        f"results/metrics/{row.paper}_{row.table}.csv"
        for row in TABLES.itertuples()
        if row.paper == wildcards.paper
    ]


def paper_options(wildcards):
    """Everything a paper's diagnostics read from config."""
    return compose.paper_options(config)


def plot_outputs(ext):
    return [
        f"results/plots/{row.paper}_{row.table}.{ext}" for row in TABLES.itertuples()
    ]


# Variant heatmaps: tables with heatmap: true get one (rows: a method's variants, e.g. templates).
HEATMAP_TABLES = [
    row
    for row in TABLES.itertuples()
    if config["papers"][row.paper]["tables"][row.table].get("heatmap", False)
]


def heatmap_outputs(ext):
    return [
        f"results/plots/{row.paper}_{row.table}_heatmap.{ext}" for row in HEATMAP_TABLES
    ]


# Plots a paper adds to its tables (registry hook table_plots), by (paper, table, suffix):
# results/plots/<paper>_<table>_<suffix>.{png,pdf,csv}.
EXTRA_PLOTS = compose.extra_plots(config, zip(TABLES["paper"], TABLES["table"]))
# "(?!)" matches nothing: without extra plots, the rule that makes them matches no file.
EXTRA_PLOT_SUFFIXES = "|".join(sorted({s for _, _, s in EXTRA_PLOTS})) or "(?!)"


def extra_plot(wildcards):
    """The plot a paper asks for (suffix, function, caption): the job's params."""
    return EXTRA_PLOTS[(wildcards.paper, wildcards.table, wildcards.suffix)]


def extra_plot_outputs(ext):
    return [f"results/plots/{p}_{t}_{s}.{ext}" for p, t, s in EXTRA_PLOTS]


def run_outputs():
    """Every run's model/ (methods that train) and eval/ (predictions.tsv and metrics.json per target)."""
    outputs = []
    for row in RUNS.itertuples():
        if not method_spec(row.method, config["models"][row.model]["family"]).zero_shot:
            outputs.append(f"results/runs/{row.run}/model")
        outputs.append(f"results/runs/{row.run}/eval")
    return outputs


def get_final_output():
    """Every file a user reads, so that a deleted one is rebuilt: Snakemake checks an intermediate
    output for existence only when a job that reads it runs anyway, so a missing eval/ or per-table
    CSV under up-to-date tables would never come back ("Nothing to be done")."""
    return [
        "results/cells.tsv",
        "results/metrics.csv",
        "results/config.resolved.yaml",
        "results/tables/tables.tex",
        *run_outputs(),
        *[
            f"results/metrics/{row.paper}_{row.table}.csv"
            for row in TABLES.itertuples()
        ],
        *[f"results/tables/{p}_diagnostics.html" for p in TABLES["paper"].unique()],
        *[f"results/tables/{p}_diagnostics.tex" for p in TABLES["paper"].unique()],
        *table_outputs("tex"),
        *table_outputs("html"),
        *plot_outputs("png"),
        *plot_outputs("pdf"),
        *extra_plot_outputs("png"),
        *extra_plot_outputs("pdf"),
        *extra_plot_outputs("csv"),
        *heatmap_outputs("png"),
        *heatmap_outputs("pdf"),
    ]


def preflight_check():
    """Before a run's first job (onstart): the tokenizer and config of every model whose GPU jobs are
    about to run, against what those jobs need (xlie.pipeline.preflight); a failure stops the run
    there, naming model, word or key and fix. Snakemake calls onstart only when jobs are to run:
    never in a dry run (-n), nor in the processes of cluster jobs (--no-hooks)."""
    import sys

    from xlie.pipeline.preflight import run_preflight

    runs = {
        RUN_PATH.format(**job.wildcards_dict)
        for job in workflow.dag.needrun_jobs()
        if job.rule.name in ("train_run", "evaluate_run")
    }
    if not runs:
        return
    preflight = run_preflight(config, CELLS, runs)
    print(
        f"xlie {preflight.verdict()}",
        file=sys.stdout if preflight.passed else sys.stderr,
    )
    if not preflight.passed:
        sys.exit(
            "xlie preflight failed before any job started (`python -m xlie preflight` with the same "
            "--config/--configfile prints every check)"
        )


def print_summary():
    """After a run: each table's source-language score beside the task's floor baseline."""
    import pandas as pd

    path = Path("results/metrics.csv")
    if not path.is_file():
        return
    metrics = pd.read_csv(path)
    rows = metrics[metrics["primary"] & (metrics["target"] == metrics["source"])]
    print(
        "\nSource-language scores (dev-selected models) vs. the task's floor baseline:"
    )
    for row in rows.itertuples():
        method = (
            row.method if row.variant == "default" else f"{row.method}[{row.variant}]"
        )
        print(
            f"  {row.paper}/{row.table} {method}/{row.model} seed {row.seed} "
            f"[{row.target}]: {row.metric} {row.value:.3f} (floor baseline {row.floor_baseline:.3f})"
        )
    if config["demo"]:
        print(
            "DEMO run: tiny random-init models; numbers are not comparable to the papers."
        )


# Finished work survives a failed rerun (xlie.pipeline.keep): the outputs the jobs about to run will
# replace are hard-linked aside before the first job and put back, with Snakemake's record of them,
# for every job that fails; the hooks at the bottom of the Snakefile call these.
PREVIOUS_OUTPUTS = PreviousOutputs(workflow)


def keep_previous_outputs():
    PREVIOUS_OUTPUTS.keep()


def restore_previous_outputs():
    import sys

    restored = PREVIOUS_OUTPUTS.restore()
    if restored:
        print(
            f"xlie: {len(restored)} output(s) of failed jobs back as they were before this run "
            f"(rerun when their inputs or options change): {', '.join(restored)}",
            file=sys.stderr,
        )


def drop_previous_outputs():
    PREVIOUS_OUTPUTS.drop()
