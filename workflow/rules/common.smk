# Load and validate the config, derive the cell grid once, and name the small input
# functions every rule uses. No rules here.
from pathlib import Path

from snakemake.utils import validate

from xlie.pipeline import jobs as steps
from xlie.pipeline.config import check_model_paths, resolve
from xlie.papers.topro.ud import UD27_LANGUAGES, treebank_files
from xlie.pipeline.grid import build_cells, training_runs
from xlie.pipeline.registry import method_spec
from xlie.pipeline.resources import job_resources
from xlie.pipeline.registry import task_type

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
    variant="|".join(sorted(CELLS["variant"].unique())),
    source="|".join(sorted(CELLS["source"].unique())),
    seed=r"\d+",
    table="|".join(sorted(TABLES["table"].unique())),


# A training run's path below results/runs/, logs/ and benchmarks/ (one place: the rules use it).
RUN_PATH = "{paper}/{task}/{model}/{method}/{variant}/{source}/seed{seed}"


def run_of(wildcards):
    """The training run (one row of RUNS) a job's wildcards name."""
    return RUNS.loc[RUN_PATH.format(**wildcards)]


def run_dict(wildcards):
    row = run_of(wildcards)
    return {
        k: (int(row[k]) if k == "seed" else str(row[k]))
        for k in ("paper", "task", "model", "method", "variant", "source", "seed")
    }


def run_targets(wildcards):
    return list(run_of(wildcards)["targets"])


def train_options(wildcards):
    """Everything a training job reads from the config (its params): a change reruns it."""
    return steps.train_options(config, run_dict(wildcards))


def eval_options(wildcards):
    return steps.eval_options(config, run_dict(wildcards), run_targets(wildcards))


def run_spec(wildcards):
    return method_spec(wildcards.method, config["models"][wildcards.model]["family"])


def job_resource(kind, name):
    """A resource function giving one of a train_run (kind "train") or evaluate_run ("eval")
    job's resources (gpu, mem_mb, cpus_per_task, runtime) from its model and method
    (config key resources, xlie.pipeline.resources); mem_mb grows with Snakemake's attempt."""

    def resource(wildcards, attempt):
        return job_resources(config, run_dict(wildcards), kind, attempt)[name]

    resource.__name__ = f"{kind}_{name}"
    return resource


def job_attempt(wildcards, attempt):
    """Snakemake's attempt (1, then 2, ... on retries) as a resource: scripts cannot see it
    otherwise (params cannot take it), and a resource is no rerun trigger. A training job
    that ran out of memory halves its per-device batch on each further attempt."""
    return attempt


def model_path(wildcards):
    return config["models"][wildcards.model]["path"]


def model_input(wildcards):
    """A locally built model is a job's input; a hub id is not a file."""
    model = config["models"][wildcards.model]
    return [tiny_model_dir(model["family"])] if model.get("tiny", False) else []


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


XTREME_DIR = config["data"]["xtreme"]["dir"]


def ud_test_treebanks(wildcards):
    """The language's test CoNLL-U files when data.ud.dir exists (else convert_ud says where to get UD)."""
    return [
        str(p) for p in treebank_files(config["data"]["ud"]["dir"], wildcards.ud_lang)
    ]


def train_data(wildcards):
    """The data files a training job reads (the task type names them), declared as inputs."""
    task = task_type(wildcards.task)
    return task.input_files(config, "train", [wildcards.source]) + task.input_files(
        config, "dev", [wildcards.source]
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
        method = (
            row.method if row.variant == "default" else f"{row.method}[{row.variant}]"
        )
        print(
            f"  {row.paper}/{row.table} {method}/{row.model} seed {row.seed} "
            f"[{row.target}]: {row.metric} {row.value:.3f} (majority baseline {row.majority_baseline:.3f})"
        )
    if config["demo"]:
        print(
            "DEMO run: tiny random-init models; numbers are not comparable to the papers."
        )


# ---------------------------------------------------------------------------------------
# Prompt-XRE data (rules in data.smk): the files training and evaluation declare as inputs,
# and the input functions that check the configured sources when the DAG is built.
from xlie.papers.prompt_xre import ace05 as _ace05
from xlie.papers.prompt_xre import wmt_xre as _wmt_xre
from xlie.papers.prompt_xre.tasks import ACE05_DIR as ACE05_OUT, WMT_XRE_DIR as WMT_XRE_OUT

WMT_XRE_SPLITS = ("train", "valid", "test")

if config["data"]["ace05"]["synthetic"]:
    _ace05.check_synthetic_target(config["data"]["ace05"]["dir"])


def ace05_split_file(lang, split):
    """results/data/ace05/<lang>.<split>.jsonl (lang en zh ar; split train dev test)."""
    return str(_ace05.instances_path(ACE05_OUT, lang, split))


def ace05_split_files():
    return [
        ace05_split_file(lang, split)
        for lang in _ace05.LANGUAGE_DIRS
        for split in _ace05.SPLITS
    ]


def wmt_xre_split_file(split):
    """results/data/wmt_xre/<split>.jsonl (train valid test); read with xlie.papers.prompt_xre.wmt_xre.read_relation_split."""
    return f"{WMT_XRE_OUT}/{split}.jsonl"


def wmt_xre_labels_file():
    """results/data/wmt_xre/labels.tsv; read with xlie.papers.prompt_xre.wmt_xre.read_labels."""
    return f"{WMT_XRE_OUT}/labels.tsv"


def ace05_processed_input(wildcards):
    """What ingest_ace05 reads. Evaluated only when its outputs are needed, so a missing
    data.ace05.dir fails the DAG (naming the key, the path and ACE05-Processor) only then.
    """
    if config["data"]["ace05"]["synthetic"]:
        return [config["data"]["ace05"]["dir"]]  # make_synthetic_ace05's directory
    return [str(p) for p in _ace05.processed_files(config["data"]["ace05"]["dir"])]


def wmt_xre_input(wildcards):
    """The local files build_wmt_xre reads (none from the hub); a missing one names its key."""
    return _wmt_xre.input_files(config["data"]["wmt_xre"])


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


# ---------------------------------------------------------------------------------------------
# AlignXIE data (rules in data.smk): code-style IE sets, ParallelNER and TIP. Paths come from
# xlie.papers.alignxie.paths (the task type reads the same ones).
from xlie.papers.alignxie import paths as codeie_paths
from xlie.papers.alignxie.paths import split_direction
from xlie.papers.alignxie import multiconer as _multiconer
CODEIE = config["data"]["codeie"]
PARALLEL_NER = config["data"]["parallel_ner"]
MULTICONER_SPLITS = ("train", "dev", "test")
PARALLEL_DIRECTIONS = sorted(PARALLEL_NER["sources"])
for _direction in PARALLEL_DIRECTIONS:
    split_direction(
        _direction
    )  # a malformed direction fails before any job, naming the key


def multiconer_conll(wildcards):
    """The CoNLL file convert_multiconer reads; evaluated only when its output is needed, so a
    missing file fails the plan (naming data.codeie.multiconer.dir and where to get MultiCoNER) only then.
    """
    multiconer = CODEIE["multiconer"]
    return str(
        _multiconer.require_conll_file(
            multiconer["dir"], multiconer["file"], wildcards.lang, wildcards.split
        )
    )


def codeie_set_file(set_name, split):
    """A set's code-style JSONL: a converted MultiCoNER-style language or a benchmark read in place."""
    benchmark = CODEIE["benchmarks"].get(set_name)
    if benchmark is not None:
        return benchmark["path"].format(split=split)
    return codeie_paths.set_path(set_name, split)


def parallel_ner_source(wildcards):
    """The source-language NER file of one direction: its set's train split (the CoNLL file of a
    MultiCoNER-style language, with dataset labels; or an NER benchmark's code-style JSONL).
    """
    direction = f"{wildcards.src}-{wildcards.tgt}"
    set_name = PARALLEL_NER["sources"][direction]
    benchmark = CODEIE["benchmarks"].get(set_name)
    if benchmark is not None:
        if benchmark["task"] != "ner":
            raise ValueError(
                f"data.parallel_ner.sources.{direction}: benchmark {set_name!r} is task {benchmark['task']!r}, not ner"
            )
        return benchmark["path"].format(split="train")
    multiconer = CODEIE["multiconer"]
    return str(
        _multiconer.require_conll_file(
            multiconer["dir"], multiconer["file"], set_name, "train"
        )
    )


def parallel_ner_translator():
    """The translator settings without nulls (null: the backend's own default): a job's params."""
    return {k: v for k, v in PARALLEL_NER["translator"].items() if v is not None}


def parallel_ner_model_input(wildcards):
    """A locally built tiny translator is an input (built by build_tiny_models); a hub id or an
    endpoint is not a file."""
    translator = parallel_ner_translator()
    model = translator.get("model", "")
    return (
        [model]
        if translator["kind"] == "hf" and model.startswith("results/models/tiny/")
        else []
    )


def parallel_ner_files(wildcards=None):
    """Every configured ParallelNER direction's pairs (build_tip's input)."""
    return [codeie_paths.parallel_path(d) for d in PARALLEL_DIRECTIONS]


def parallel_ner_seed(wildcards=None):
    """The given (seed) pairs for TIP, when data.parallel_ner.seed is set."""
    return [PARALLEL_NER["seed"]] if PARALLEL_NER["seed"] else []


def check_codeie_schemas():
    """A bad schema (duplicate class, a name that is no Python identifier, a label mapped twice)
    fails the plan naming its file, not the first job that reads it."""
    if "codeie" not in set(CELLS["task"]):
        return
    from xlie.pipeline.config import ConfigError
    from xlie.papers.alignxie.tasks import read_schema

    schemas = {"data.codeie.schema": CODEIE["schema"]}
    schemas.update(
        {
            f"data.codeie.benchmarks.{n}.schema": b["schema"]
            for n, b in CODEIE["benchmarks"].items()
        }
    )
    for key, path in schemas.items():
        try:
            read_schema(path)
        except ValueError as error:  # SchemaError, naming the file
            raise ConfigError(f"config key {key}: {error}") from None


check_codeie_schemas()
