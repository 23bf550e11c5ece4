# AlignXIE's data: the input functions of its rules (alignxie.smk) and the checks that fail
# the plan, naming the config key, before any job runs.
from xlie.papers.alignxie import multiconer as _multiconer
from xlie.papers.alignxie import parallel_sources as _parallel_sources
from xlie.papers.alignxie import paths as codeie_paths
from xlie.papers.alignxie.paths import split_direction

CODEIE = config["data"]["codeie"]
PARALLEL_NER = config["data"]["parallel_ner"]
MULTICONER_SPLITS = ("train", "dev", "test")
PARALLEL_DIRECTIONS = sorted(PARALLEL_NER["sources"])
# A malformed direction fails before any job, naming the key.
for _direction in PARALLEL_DIRECTIONS:
    split_direction(_direction)


def multiconer_file(lang, split):
    """A MultiCoNER-style language's CoNLL file; a missing one names data.codeie.multiconer.dir
    and where to get MultiCoNER."""
    multiconer = CODEIE["multiconer"]
    return str(
        _multiconer.require_conll_file(
            multiconer["dir"], multiconer["file"], lang, split
        )
    )


def multiconer_conll(wildcards):
    """The CoNLL file convert_multiconer reads; evaluated only when its output is needed, so a
    missing file fails the plan only then."""
    return multiconer_file(wildcards.lang, wildcards.split)


def parallel_ner_source(wildcards):
    """The source-language NER file of one direction: a dataset the paper built ParallelNER from
    (wikineural, cluener2020: the file at data.parallel_ner.<name>.path; missing, the plan fails
    naming the key and where to get it), or a set's train split (the CoNLL file of a MultiCoNER-style
    language, with dataset labels; or an NER benchmark's code-style JSONL).
    """
    direction = f"{wildcards.src}-{wildcards.tgt}"
    set_name = PARALLEL_NER["sources"][direction]
    if set_name in _parallel_sources.DATASETS:
        return str(
            _parallel_sources.require_source_file(
                set_name, PARALLEL_NER[set_name]["path"]
            )
        )
    benchmark = CODEIE["benchmarks"].get(set_name)
    if benchmark is not None:
        if benchmark["task"] != "ner":
            raise ValueError(
                f"data.parallel_ner.sources.{direction}: benchmark {set_name!r} is task {benchmark['task']!r}, not ner"
            )
        return benchmark["path"].format(split="train")
    return multiconer_file(set_name, "train")


def parallel_ner_source_format(wildcards):
    """The reader of a direction's source: a ParallelNER source dataset's name, else None (by suffix)."""
    set_name = PARALLEL_NER["sources"][f"{wildcards.src}-{wildcards.tgt}"]
    return set_name if set_name in _parallel_sources.DATASETS else None


def parallel_ner_schemas(wildcards=None):
    """{ParallelNER file: its TIP schema} for the directions whose source is a dataset the paper used
    (its own labels, data.parallel_ner.<name>.schema); the others use data.codeie.schema.
    """
    sources = {d: PARALLEL_NER["sources"][d] for d in PARALLEL_DIRECTIONS}
    return {
        codeie_paths.parallel_path(d): PARALLEL_NER[name]["schema"]
        for d, name in sources.items()
        if name in _parallel_sources.DATASETS
    }


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
    used = {PARALLEL_NER["sources"][d] for d in PARALLEL_DIRECTIONS}
    schemas.update(
        {
            f"data.parallel_ner.{name}.schema": PARALLEL_NER[name]["schema"]
            for name in sorted(used & set(_parallel_sources.DATASETS))
        }
    )
    for key, path in schemas.items():
        try:
            read_schema(path)
        except ValueError as error:  # SchemaError, naming the file
            raise ConfigError(f"config key {key}: {error}") from None


check_codeie_schemas()
