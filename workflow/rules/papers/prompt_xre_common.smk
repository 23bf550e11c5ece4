# Prompt-XRE's data: the files its rules (prompt_xre.smk) write, and the input functions that
# check the configured sources when the DAG is built.
from xlie.papers.prompt_xre import ace05 as _ace05
from xlie.papers.prompt_xre import wmt_xre as _wmt_xre
from xlie.papers.prompt_xre.tasks import (
    ACE05_DIR as ACE05_OUT,
    WMT_XRE_DIR as WMT_XRE_OUT,
)

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
