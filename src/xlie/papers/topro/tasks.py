"""Word-level tagging tasks in the XTREME layout: PAN-X (NER, seqeval F1) and UDPOS (token accuracy)."""

from __future__ import annotations

from dataclasses import dataclass
from xlie.papers.topro import metrics
from xlie.papers.topro.labels import FALLBACK_LABEL, label_set
from xlie.pipeline.runtime import atomic_write_text


@dataclass(frozen=True)
class TaggingTask:
    name: str
    description: str
    kind: str = "tagging"
    baseline_name: str = "Majority label"  # the floor a score must beat (floor_baseline)
    baseline_how: str = "every word tagged with the most frequent training tag"
    predictions_file: str = "predictions.tsv"  # word<TAB>gold<TAB>predicted (write_predictions)

    @property
    def labels(self) -> tuple[str, ...]:
        return label_set(self.name)

    @property
    def primary_metric(self) -> str:
        return metrics.PRIMARY_METRIC[self.name]

    @property
    def fallback_label(self) -> str:
        return FALLBACK_LABEL[self.name]

    def data_options(self, config: dict) -> dict:
        xtreme = config["data"]["xtreme"]
        return {"source": xtreme["source"], "dir": xtreme["dir"]}

    def eval_split(self, config: dict) -> str:
        return config["data"]["xtreme"]["eval_split"][self.name]

    def input_files(self, config: dict, split: str, langs: list[str]) -> list[str]:
        """Local XTREME files a job reads, declared as inputs so that editing one reruns its jobs."""
        from xlie.papers.topro.xtreme import LOCAL_ONLY, local_path

        xtreme = config["data"]["xtreme"]
        if xtreme["source"] == "hub":
            return []
        # 'auto' falls back to the hub for files that are not there, except for languages the hub
        # lacks: those are always declared, so that convert_ud makes them.
        return [
            str(local_path(xtreme["dir"], self.name, split, lang))
            for lang in langs
            if xtreme["source"] == "local"
            or local_path(xtreme["dir"], self.name, split, lang).is_file()
            or lang in LOCAL_ONLY.get(self.name, ())
        ]

    def validate_file(self, path: str, config: dict) -> None:
        """One local XTREME file read as the jobs read it (UTF-8, word<TAB>tag lines, tags of the label
        set, at least one sentence), before any job is scheduled; errors name file:line."""
        from xlie.papers.topro.xtreme import read_xtreme_tsv

        read_xtreme_tsv(path, self.labels)

    def load(self, data: dict, split: str, lang: str):
        from xlie.papers.topro.xtreme import load_xtreme

        return load_xtreme(self.name, split, lang, data["source"], data["dir"])

    def gold(self, examples):
        return [s.tags for s in examples]

    def predicted(self, prediction):
        return prediction.tags

    def score(self, gold, predicted) -> dict:
        return metrics.score(self.name, gold, predicted)

    def floor_baseline(self, train, gold) -> dict:
        return metrics.majority_baseline(self.name, self.gold(train), gold)

    def floor_predictions(self, train, examples) -> list[list[str]]:
        """Every word tagged with the most frequent training tag (the floor of registered metrics)."""
        label = metrics.majority_label(self.gold(train))
        return [[label] * len(s.tags) for s in examples]

    def counts(self, examples) -> dict:
        return {"sentences": len(examples), "words": sum(len(s.tags) for s in examples)}

    def write_predictions(self, path, examples, predicted) -> None:
        """word<TAB>gold<TAB>predicted, blank line between sentences (XTREME-like, diffable)."""
        lines = []
        for sentence, tags in zip(examples, predicted):
            lines.extend(f"{w}\t{g}\t{p}" for w, g, p in zip(sentence.words, sentence.tags, tags))
            lines.append("")
        atomic_write_text(path, "\n".join(lines))

    def read_predictions(self, path):
        from xlie.papers.topro.sentence_scorers import read_tagging_predictions

        return read_tagging_predictions(path)

    def example_scorer(self, metric: str):
        from xlie.papers.topro.sentence_scorers import TAGGING_SCORERS

        return TAGGING_SCORERS.get(metric)

    def method_kwargs(self, data: dict) -> dict:
        return {}


PANX = TaggingTask("panx", "PAN-X (WikiANN) named entities, IOB2 tags, seqeval entity F1")
UDPOS = TaggingTask("udpos", "Universal Dependencies POS tags (XTREME's UDPOS), token accuracy")
