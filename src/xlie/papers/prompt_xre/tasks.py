"""Relation classification of a given entity pair (Prompt-XRE): ACE05 (18 labels) and WMT17-EnZh XRE.

The metric is accuracy over instances; the Prompt-XRE paper calls it micro-F1, which over a
closed label set without a "no relation" class is the same number. The floor baseline tags every
instance with the most frequent training label. Predictions are written as JSON lines (id, gold,
predicted) to ``predictions.jsonl``, so that the verdict tables can bootstrap over instances.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from xlie.pipeline.provenance import file_sha256
from xlie.pipeline.runtime import atomic_write

# Ingestion rules write these (workflow/rules/papers/prompt_xre.smk); readers never look at raw corpora.
ACE05_DIR = "results/data/ace05"
WMT_XRE_DIR = "results/data/wmt_xre"


def _scores(gold: list[str], predicted: list[str]) -> dict:
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold instances but {len(predicted)} predicted")
    accuracy = sum(g == p for g, p in zip(gold, predicted)) / len(gold) if gold else 0.0
    return {"accuracy": accuracy, "primary": accuracy, "primary_name": "accuracy"}


@dataclass(frozen=True)
class RelationTask:
    """A relation classification task on JSON-lines instance files, one file per (split, language)
    (``path``), read as ``RelationInstance``s (``read``)."""

    name: str
    description: str
    kind: str = "relation"
    primary_metric: str = "accuracy"
    baseline_name: str = "Majority label"  # the floor a score must beat (floor_baseline)
    baseline_how: str = "every instance given the most frequent training label"
    predictions_file: str = "predictions.jsonl"  # one JSON line per instance (write_predictions)

    def eval_split(self, config: dict) -> str:
        return "test"

    def load(self, data: dict, split: str, lang: str):
        path = self.path(data["dir"], split, lang)
        instances = self.read(path)
        return instances, {
            "source": "local",
            "path": str(path),
            "sha256": file_sha256(path),
            "instances": len(instances),
        }

    def validate_file(self, path: str, config: dict) -> None:
        """One local instance file read as the jobs read it (UTF-8, one instance per line, labels of
        the task), before any job is scheduled; errors name file:line."""
        from xlie.pipeline.validation import check_utf8

        check_utf8(path)
        if not self.read(Path(path)):
            raise ValueError(f"{path}:1: holds no relation instances")

    def gold(self, examples):
        return [i.label for i in examples]

    def predicted(self, prediction):
        return prediction.labels

    def score(self, gold, predicted) -> dict:
        return _scores(list(gold), list(predicted))

    def floor_baseline(self, train, gold) -> dict:
        label = Counter(self.gold(train)).most_common(1)[0][0]
        return {**self.score(gold, [label] * len(gold)), "label": label}

    def counts(self, examples) -> dict:
        return {"instances": len(examples)}

    def write_predictions(self, path, examples, predicted) -> None:
        with atomic_write(path) as handle:
            for instance, label in zip(examples, predicted):
                record = {"id": f"{instance.doc_id}/{instance.relation_id}", "gold": instance.label, "predicted": label}
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")

    def read_predictions(self, path):
        gold, predicted = [], []
        with Path(path).open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    record = json.loads(line)
                    gold.append(record["gold"])
                    predicted.append(record["predicted"])
                except (json.JSONDecodeError, KeyError, TypeError) as error:
                    raise ValueError(f"{path}:{number}: not a prediction record ({error})") from None
        return gold, predicted

    def example_scorer(self, metric: str):
        from xlie.report.verdict import instance_accuracy

        return instance_accuracy if metric == "accuracy" else None


@dataclass(frozen=True)
class Ace05Relations(RelationTask):
    def data_options(self, config: dict) -> dict:
        return {"dir": ACE05_DIR}

    def path(self, data_dir: str, split: str, lang: str) -> Path:
        from xlie.papers.prompt_xre.ace05 import instances_path

        return instances_path(data_dir, lang, split)

    def read(self, path: Path) -> list:
        from xlie.papers.prompt_xre.ace05 import LABELS, read_instances

        return read_instances(path, labels=LABELS)

    def input_files(self, config: dict, split: str, langs: list[str]) -> list[str]:
        return [str(self.path(ACE05_DIR, split, lang)) for lang in langs]

    def method_kwargs(self, data: dict) -> dict:
        from xlie.papers.prompt_xre.ace05 import LABELS

        return {"labels": list(LABELS)}


# WMT17-XRE writes train / valid / test; the pipeline's model-selection split is "dev".
_WMT_SPLIT_FILES = {"train": "train", "dev": "valid", "test": "test"}


@dataclass(frozen=True)
class WmtXreRelations(RelationTask):
    """Chinese sentences with English argument texts; the only language is ``zh`` (the sentence's)."""

    def data_options(self, config: dict) -> dict:
        return {"dir": WMT_XRE_DIR}

    def path(self, data_dir: str, split: str, lang: str) -> Path:
        if lang != "zh":
            raise ValueError(
                f"task {self.name}: the WMT17-EnZh XRE sentences are Chinese; language {lang!r} has no data (use zh)"
            )
        return Path(data_dir) / f"{_WMT_SPLIT_FILES[split]}.jsonl"

    def read(self, path: Path) -> list:
        from xlie.papers.prompt_xre.wmt_xre import read_relation_split

        return read_relation_split(path)

    def input_files(self, config: dict, split: str, langs: list[str]) -> list[str]:
        return [str(self.path(WMT_XRE_DIR, split, lang)) for lang in langs] + [f"{WMT_XRE_DIR}/labels.tsv"]

    def validate_file(self, path: str, config: dict) -> None:
        """An instance file, or labels.tsv (a 'label<TAB>count' header, one label per line, none twice)."""
        if Path(path).name != "labels.tsv":
            return super().validate_file(path, config)
        from xlie.papers.prompt_xre.wmt_xre import read_labels
        from xlie.pipeline.validation import check_utf8

        check_utf8(path)
        read_labels(path)
        return None

    def method_kwargs(self, data: dict) -> dict:
        """The classifier's label list: labels.tsv's, in file order (most frequent first)."""
        from xlie.papers.prompt_xre.wmt_xre import read_labels

        return {"labels": read_labels(Path(data["dir"]) / "labels.tsv")}


ACE05 = Ace05Relations(
    "ace05", "ACE05 relation classification of gold argument pairs, 18 TYPE:SUBTYPE labels, accuracy"
)
WMT_XRE = WmtXreRelations(
    "wmt_xre", "WMT17-EnZh XRE: Chinese sentence + English argument pair, predicate-pattern labels, accuracy"
)
