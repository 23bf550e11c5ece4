"""Sentence topic classification: ``label<TAB>sentence`` files ``<split>-<lang>.tsv`` under
``data.example.dir``; accuracy; predictions as JSON lines."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from xlie.pipeline.runtime import atomic_write_text


@dataclass(frozen=True)
class Example:
    label: str
    text: str


@dataclass(frozen=True)
class TopicTask:
    name: str
    description: str
    kind: str = "classification"
    primary_metric: str = "accuracy"
    baseline_name: str = "Majority label"
    baseline_how: str = "every sentence given the most frequent training label"
    predictions_file: str = "predictions.jsonl"

    def data_options(self, config: dict) -> dict:
        return {"dir": config["data"]["example"]["dir"]}

    def input_files(self, config: dict, split: str, langs: list[str]) -> list[str]:
        return [str(Path(config["data"]["example"]["dir"]) / f"{split}-{lang}.tsv") for lang in langs]

    def eval_split(self, config: dict) -> str:
        return "test"

    def load(self, data: dict, split: str, lang: str):
        path = Path(data["dir"]) / f"{split}-{lang}.tsv"
        examples = []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            label, sep, text = line.partition("\t")
            if not sep:
                raise ValueError(f"{path}:{number}: expected label<TAB>sentence")
            examples.append(Example(label, text))
        return examples, {"path": str(path), "examples": len(examples)}

    def gold(self, examples):
        return [e.label for e in examples]

    def predicted(self, prediction):
        return prediction.labels

    def score(self, gold, predicted) -> dict:
        accuracy = sum(g == p for g, p in zip(gold, predicted)) / len(gold) if gold else 0.0
        return {"accuracy": accuracy, "primary": accuracy, "primary_name": "accuracy"}

    def floor_baseline(self, train, gold) -> dict:
        label = Counter(self.gold(train)).most_common(1)[0][0]
        return {**self.score(gold, [label] * len(gold)), "label": label}

    def counts(self, examples) -> dict:
        return {"sentences": len(examples)}

    def write_predictions(self, path, examples, predicted) -> None:
        lines = [json.dumps({"gold": e.label, "predicted": p}) for e, p in zip(examples, predicted)]
        atomic_write_text(path, "".join(line + "\n" for line in lines))

    def read_predictions(self, path):
        records = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]
        return [r["gold"] for r in records], [r["predicted"] for r in records]

    def example_scorer(self, metric: str):
        return None  # no bootstrap for the toy task

    def method_kwargs(self, data: dict) -> dict:
        return {}


TOY_TOPIC = TopicTask("toy_topic", "Toy topic classification (sport / weather), accuracy")
