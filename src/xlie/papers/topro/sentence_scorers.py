"""Per-sentence statistics of the tagging metrics, for the verdict's bootstrap over test sentences
(xlie.report.verdict): token accuracy and seqeval's entity F1 (default and strict IOB2 modes),
and the reader of a tagging run's predictions.tsv."""

from __future__ import annotations

from pathlib import Path

from xlie.report.verdict import ExampleScorer, accuracy_from_counts, f1_from_counts


def _token_accuracy_stats(gold, pred):
    return (sum(g == p for g, p in zip(gold, pred)), len(gold))


def _entity_stats(extract):
    def stats(gold, pred):
        g, p = set(extract(list(gold))), set(extract(list(pred)))
        return (len(g & p), len(p), len(g))

    return stats


def _default_entities(tags):
    from seqeval.metrics.sequence_labeling import get_entities

    return get_entities(tags)


def _strict_entities(tags):
    from seqeval.scheme import IOB2, Entities

    return [e.to_tuple()[1:] for e in Entities([tags], IOB2).entities[0]]


token_accuracy = ExampleScorer("accuracy", _token_accuracy_stats, accuracy_from_counts)
entity_f1 = ExampleScorer("f1", _entity_stats(_default_entities), f1_from_counts)  # seqeval default (conlleval) mode
entity_f1_strict = ExampleScorer("f1_strict", _entity_stats(_strict_entities), f1_from_counts)  # seqeval strict IOB2

# Metric name in metrics.json -> scorer of one tagged sentence. Metrics without one (e.g. weighted
# token F1, not additive over sentences) get the seed t-interval only.
TAGGING_SCORERS = {"accuracy": token_accuracy, "f1": entity_f1, "f1_strict": entity_f1_strict}


def read_tagging_predictions(path) -> tuple[list[list[str]], list[list[str]]]:
    """(gold, predicted) sentences from a predictions.tsv (word, gold, predicted; blank line between
    sentences). Errors name file:line."""
    gold, pred, g, p = [], [], [], []
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            if g:
                gold.append(g)
                pred.append(p)
            g, p = [], []
            continue
        parts = line.split("\t")
        if len(parts) != 3:
            raise ValueError(f"{path}:{number}: expected word<TAB>gold<TAB>predicted, found {len(parts)} fields")
        g.append(parts[1])
        p.append(parts[2])
    if g:
        gold.append(g)
        pred.append(p)
    return gold, pred
