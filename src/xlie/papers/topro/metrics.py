"""Metrics on one definition for every method: seqeval entity F1 (NER), token accuracy (POS).

Entity scores come in seqeval's two modes, both kept under explicit names:
``precision``/``recall``/``f1`` are seqeval's DEFAULT (conlleval-style) mode, the one the
authors' Vanilla (XTREME run_tag.py) and PT (salesforce/MPT) call and so the paper's metric;
``*_strict`` are strict IOB2, where an entity must start with B-. They differ on I- tags
without a B-: gold ``B-PER I-PER O B-LOC`` vs. predicted ``I-PER I-PER O I-LOC`` is F1 1.0 by
default and 0.0 strict, which hits ToPro (every word tagged on its own) hardest.
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

Tags = Sequence[Sequence[str]]

# The headline metric of each task, as the papers report it.
PRIMARY_METRIC = {"panx": "f1", "udpos": "accuracy"}


def _check_shapes(gold: Tags, pred: Tags) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    for i, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: {len(g)} gold tags but {len(p)} predicted")


def entity_scores(gold: Tags, pred: Tags, strict: bool = False) -> dict[str, float]:
    """Entity-level micro P/R/F1 with seqeval: its default (conlleval-style) mode, the authors'
    definition, or with ``strict`` strict IOB2 (see the module doc)."""
    # Imported here: seqeval pulls in scikit-learn (~2 s), and the workflow reads this module's task
    # facts every time it builds the DAG, i.e. in every job.
    from seqeval.metrics import f1_score, precision_score, recall_score
    from seqeval.scheme import IOB2

    _check_shapes(gold, pred)
    gold, pred = [list(s) for s in gold], [list(s) for s in pred]
    kwargs = dict(mode="strict", scheme=IOB2, zero_division=0) if strict else dict(zero_division=0)
    return {
        "precision": float(precision_score(gold, pred, **kwargs)),
        "recall": float(recall_score(gold, pred, **kwargs)),
        "f1": float(f1_score(gold, pred, **kwargs)),
    }


def token_accuracy(gold: Tags, pred: Tags) -> float:
    _check_shapes(gold, pred)
    total = sum(len(s) for s in gold)
    correct = sum(g == p for gs, ps in zip(gold, pred) for g, p in zip(gs, ps))
    return correct / total if total else 0.0


def weighted_token_f1(gold: Tags, pred: Tags) -> float:
    """The ToPro authors' encoder metric: sklearn weighted F1 over all tokens, O included.

    Reported beside (never instead of) seqeval/accuracy to compare with their numbers. Their
    code passed y_true and y_pred swapped; we pass them in the right order."""
    from sklearn.metrics import f1_score as sk_f1  # scikit-learn is a seqeval dependency

    _check_shapes(gold, pred)
    y_true = [t for s in gold for t in s]
    y_pred = [t for s in pred for t in s]
    return float(sk_f1(y_true, y_pred, average="weighted", zero_division=0)) if y_true else 0.0


def score(task: str, gold: Tags, pred: Tags) -> dict[str, float]:
    """All metrics of ``task``; ``primary`` is the one the tables show."""
    scores = {"accuracy": token_accuracy(gold, pred), "weighted_token_f1": weighted_token_f1(gold, pred)}
    if task == "panx":
        scores.update(entity_scores(gold, pred))
        scores.update({f"{k}_strict": v for k, v in entity_scores(gold, pred, strict=True).items()})
    scores["primary"] = scores[PRIMARY_METRIC[task]]
    scores["primary_name"] = PRIMARY_METRIC[task]
    return scores


def majority_label(train_tags: Tags) -> str:
    counts = Counter(tag for sentence in train_tags for tag in sentence)
    return counts.most_common(1)[0][0]


def majority_baseline(task: str, train_tags: Tags, gold: Tags) -> dict[str, float]:
    """Scores of tagging every word with the most frequent training label (the floor a model must beat)."""
    label = majority_label(train_tags)
    scores = score(task, gold, [[label] * len(s) for s in gold])
    scores["label"] = label
    return scores
