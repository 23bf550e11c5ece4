# Load and validate the config, derive the cell grid once, and name the small input
# functions every rule uses. No rules here.
from pathlib import Path

from snakemake.utils import validate

from xlie import steps
from xlie.config import check_model_paths, resolve
from xlie.data.ud import UD27_LANGUAGES, treebank_files
from xlie.data.xtreme import LOCAL_ONLY, local_path
from xlie.grid import build_cells, training_runs
from xlie.methods import method_spec

# The preset underneath, the user's keys on top; errors name the key before any job runs.
_resolved = resolve(
    config,
    presets_dir=Path(workflow.basedir) / "workflow" / "presets",
    schema_path=Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml",
)
config.clear()
config.update(_resolved)
validate(config, schema="../schemas/config.schema.yaml")  # fills schema defaults
check_model_paths(config)

CELLS = build_cells(config)
RUNS = training_runs(CELLS).set_index("run", drop=False)
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


wildcard_constraints:
    paper="|".join(sorted(CELLS["paper"].unique())),
    task="|".join(sorted(CELLS["task"].unique())),
    model="|".join(sorted(config["models"])),
    method="|".join(sorted(CELLS["method"].unique())),
    source="[a-z]{2,3}",
    seed=r"\d+",
    table="|".join(sorted(TABLES["table"].unique())),


def run_of(wildcards):
    """The training run (one row of RUNS) a job's wildcards name."""
    key = f"{wildcards.paper}/{wildcards.task}/{wildcards.model}/{wildcards.method}/{wildcards.source}/seed{wildcards.seed}"
    return RUNS.loc[key]


def run_dict(wildcards):
    row = run_of(wildcards)
    return {
        k: (int(row[k]) if k == "seed" else str(row[k]))
        for k in ("paper", "task", "model", "method", "source", "seed")
    }


def run_targets(wildcards):
    return list(run_of(wildcards)["targets"])


def train_options(wildcards):
    """Everything a training job reads from the config (its params): a change reruns it."""
    return steps.train_options(config, run_dict(wildcards))


def eval_options(wildcards):
    return steps.eval_options(config, run_dict(wildcards), run_targets(wildcards))


def model_path(wildcards):
    return config["models"][wildcards.model]["path"]


def model_input(wildcards):
    """A locally built model is a job's input; a hub id is not a file."""
    model = config["models"][wildcards.model]
    return [tiny_model_dir(model["family"])] if model.get("tiny", False) else []


def is_zero_shot(wildcards):
    family = config["models"][wildcards.model]["family"]
    return method_spec(wildcards.method, family).zero_shot


def trained_model_dir(wildcards):
    return f"results/runs/{wildcards.paper}/{wildcards.task}/{wildcards.model}/{wildcards.method}/{wildcards.source}/seed{wildcards.seed}/model"


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


def local_data_files(task, split, langs):
    """Local XTREME files a job reads, declared as inputs so that editing one reruns its jobs."""
    xtreme = config["data"]["xtreme"]
    if xtreme["source"] == "hub":
        return []
    # 'auto' falls back to the hub for files that are not there, except for languages the hub
    # lacks: those are always declared, so that convert_ud makes them.
    return [
        str(local_path(xtreme["dir"], task, split, lang))
        for lang in langs
        if xtreme["source"] == "local"
        or local_path(xtreme["dir"], task, split, lang).is_file()
        or lang in LOCAL_ONLY.get(task, ())
    ]


XTREME_DIR = config["data"]["xtreme"]["dir"]


def ud_test_treebanks(wildcards):
    """The language's test CoNLL-U files when data.ud.dir exists (else convert_ud says where to get UD)."""
    return [
        str(p) for p in treebank_files(config["data"]["ud"]["dir"], wildcards.ud_lang)
    ]


def train_data(wildcards):
    source = [wildcards.source]
    return local_data_files(wildcards.task, "train", source) + local_data_files(
        wildcards.task, "dev", source
    )


def eval_data(wildcards):
    split = config["data"]["xtreme"]["eval_split"][wildcards.task]
    return local_data_files(
        wildcards.task, split, run_targets(wildcards)
    ) + local_data_files(wildcards.task, "train", [wildcards.source])


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


def table_config(wildcards):
    """What a table's rendering reads from config: editing it reruns only that table."""
    return {
        "table": config["papers"][wildcards.paper]["tables"][wildcards.table],
        "display": config.get("display", {}),
        "reporting": config.get("reporting", {}),
        "demo": config["demo"],
    }


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


def paper_config(wildcards):
    return {
        "display": config.get("display", {}),
        "reporting": config.get("reporting", {}),
        "demo": config["demo"],
    }


def plot_outputs(ext):
    return [
        f"results/plots/{row.paper}_{row.table}.{ext}" for row in TABLES.itertuples()
    ]


# Tables with both ToPro and Vanilla rows get a gain-by-language-group plot.
GAIN_TABLES = [
    row
    for row in TABLES.itertuples()
    if {"topro", "vanilla"}
    <= set(config["papers"][row.paper]["tables"][row.table]["methods"])
]


def gain_plot_outputs(ext):
    return [f"results/plots/{row.paper}_{row.table}_gain.{ext}" for row in GAIN_TABLES]


def get_final_output():
    return [
        "results/cells.tsv",
        "results/metrics.csv",
        "results/config.resolved.yaml",
        "results/tables/tables.tex",
        *[f"results/tables/{p}_diagnostics.html" for p in TABLES["paper"].unique()],
        *table_outputs("tex"),
        *table_outputs("html"),
        *plot_outputs("png"),
        *plot_outputs("pdf"),
        *gain_plot_outputs("png"),
        *gain_plot_outputs("pdf"),
        *heatmap_outputs("png"),
        *heatmap_outputs("pdf"),
    ]


def print_summary():
    """After a run: each table's source-language score beside the majority-label baseline."""
    import pandas as pd

    path = Path("results/metrics.csv")
    if not path.is_file():
        return
    metrics = pd.read_csv(path)
    rows = metrics[metrics["primary"] & (metrics["target"] == metrics["source"])]
    print(
        "\nSource-language scores (dev-selected models) vs. the majority-label baseline:"
    )
    for row in rows.itertuples():
        print(
            f"  {row.paper}/{row.table} {row.method}/{row.model} seed {row.seed} "
            f"[{row.target}]: {row.metric} {row.value:.3f} (majority baseline {row.majority_baseline:.3f})"
        )
    if config["demo"]:
        print(
            "DEMO run: tiny random-init models; numbers are not comparable to the papers."
        )


# ---------------------------------------------------------------------------------------------
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
