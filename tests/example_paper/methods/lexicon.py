"""A lexicon classifier: per label, smoothed counts of the base model's tokenizer pieces; a sentence
gets the label whose pieces' log-probabilities sum highest. No weights are trained: the point is
the path through the workflow (real tokenizer loading, train/evaluate jobs, tables)."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from example_paper.params import LexiconParams

LEXICON = "lexicon.json"


@dataclass
class LabelPrediction:
    labels: list[str]
    counts: dict[str, int] = field(default_factory=dict)


def _counts(tokenizer, examples) -> dict[str, Counter]:
    counts: dict[str, Counter] = {}
    for example in examples:
        counts.setdefault(example.label, Counter()).update(tokenizer.tokenize(example.text))
    return counts


def _classifier(lexicon: dict, tokenizer):
    smoothing, counts = lexicon["smoothing"], lexicon["counts"]
    vocabulary = {piece for pieces in counts.values() for piece in pieces}
    totals = {label: sum(pieces.values()) for label, pieces in counts.items()}

    def classify(text: str) -> str:
        def score(label):
            denominator = totals[label] + smoothing * (len(vocabulary) + 1)
            return sum(math.log((counts[label].get(p, 0) + smoothing) / denominator) for p in tokenizer.tokenize(text))

        return max(sorted(counts), key=score)

    return classify


def train(model_path, task, train, dev, output_dir, checkpoint_dir, params, seed, **task_kwargs) -> dict:
    from transformers import AutoTokenizer

    hp = LexiconParams(**params)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    lexicon = {"smoothing": hp.smoothing, "counts": {k: dict(v) for k, v in _counts(tokenizer, train).items()}}
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(output_dir)
    (output_dir / LEXICON).write_text(json.dumps(lexicon, sort_keys=True), encoding="utf-8")
    classify = _classifier(lexicon, tokenizer)
    accuracy = sum(classify(e.text) == e.label for e in dev) / max(1, len(dev))
    summary = {"best_dev": {"accuracy": accuracy}, "params": asdict(hp)}
    (output_dir / "xlie_training.json").write_text(json.dumps(summary), encoding="utf-8")
    return summary


def load_predictor(model_dir, task, params):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    classify = _classifier(json.loads((Path(model_dir) / LEXICON).read_text(encoding="utf-8")), tokenizer)

    def predict(examples, desc=None) -> LabelPrediction:
        return LabelPrediction([classify(e.text) for e in examples])

    return predict
