"""Where the AlignXIE data rules write (one place: the rules and the task type both use these).

results/data/codeie/
    sets/{set}/{split}.jsonl          code-style JSONL ({"id","sentence","task","output"}), rule convert_multiconer
    sets/{set}/{split}.stats.tsv      its statistics (statistic, value)
    parallel_ner/{src}-{tgt}.jsonl    ParallelNER pairs (write_parallel_jsonl format), rule build_parallel_ner
    parallel_ner/source_{src}-{tgt}.jsonl   the source NER samples it translated (read_ner_jsonl format)
    parallel_ner/stats_{src}-{tgt}.tsv      construction statistics (stage, statistic, value)
    parallel_ner/cache/               translator replies, kept across reruns (not a declared output)
    tip/train.jsonl                   TIP instances ({"prompt","completion"}), rule build_tip
    tip/stats.tsv                     pairs read per file, instances, drops by reason
"""

from __future__ import annotations

CODEIE_DIR = "results/data/codeie"
SETS_DIR = f"{CODEIE_DIR}/sets"
PARALLEL_DIR = f"{CODEIE_DIR}/parallel_ner"
PARALLEL_CACHE_DIR = f"{PARALLEL_DIR}/cache"
TIP_DIR = f"{CODEIE_DIR}/tip"
TIP_PATH = f"{TIP_DIR}/train.jsonl"
TIP_STATS_PATH = f"{TIP_DIR}/stats.tsv"


def set_path(set_name: str, split: str, sets_dir: str = SETS_DIR) -> str:
    """A converted evaluation/training set: results/data/codeie/sets/{set}/{split}.jsonl (``sets_dir``: another root)."""
    return f"{sets_dir}/{set_name}/{split}.jsonl"


def set_stats_path(set_name: str, split: str) -> str:
    return f"{SETS_DIR}/{set_name}/{split}.stats.tsv"


def parallel_path(direction: str) -> str:
    """ParallelNER pairs of one direction ("en-zh"): results/data/codeie/parallel_ner/en-zh.jsonl."""
    return f"{PARALLEL_DIR}/{direction}.jsonl"


def parallel_source_path(direction: str) -> str:
    return f"{PARALLEL_DIR}/source_{direction}.jsonl"


def parallel_stats_path(direction: str) -> str:
    return f"{PARALLEL_DIR}/stats_{direction}.tsv"


def split_direction(direction: str) -> tuple[str, str]:
    """ "en-zh" -> ("en", "zh"); a ValueError naming the config key otherwise."""
    parts = direction.split("-")
    if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
        raise ValueError(f"data.parallel_ner.sources: {direction!r} is not a direction '<src>-<tgt>' (e.g. 'en-zh')")
    return parts[0], parts[1]


def alignment_inputs(config: dict, run: dict) -> list[str]:
    """What an AlignXIE training run reads besides its sets: the TIP instances, for the ``tip``
    variant (phase 1) only; the ``none`` ablation neither waits for nor reruns with them."""
    return [TIP_PATH] if run["variant"] == "tip" else []
