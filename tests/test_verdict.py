"""Reproduction verdict statistics on hand-made predictions."""

import numpy as np
import pytest
from seqeval.metrics import f1_score
from seqeval.scheme import IOB2

from xlie.papers.topro.sentence_scorers import entity_f1, entity_f1_strict, read_tagging_predictions, token_accuracy
from xlie.report.verdict import (
    VerdictSettings,
    bootstrap_interval,
    cell_interval,
    example_stats,
    instance_accuracy,
    paired_bootstrap,
    t_interval,
)

GOLD = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-ORG", "O"], ["I-LOC", "O"], ["B-PER", "O", "O"]]
PRED = [["B-PER", "I-PER", "O", "O"], ["O", "B-ORG", "O"], ["I-LOC", "O"], ["B-LOC", "O", "O"]]


def test_scorers_match_the_corpus_metrics():
    stats = example_stats(entity_f1, GOLD, PRED)
    assert entity_f1.score(stats.sum(axis=0)) == pytest.approx(f1_score(GOLD, PRED))
    strict = example_stats(entity_f1_strict, GOLD, PRED)
    assert entity_f1_strict.score(strict.sum(axis=0)) == pytest.approx(f1_score(GOLD, PRED, mode="strict", scheme=IOB2))
    acc = example_stats(token_accuracy, GOLD, PRED)
    assert token_accuracy.score(acc.sum(axis=0)) == pytest.approx(10 / 12)
    labels = example_stats(
        instance_accuracy, ["PHYS:Near", "ART:User", "PHYS:Near"], ["PHYS:Near", "PHYS:Near", "PHYS:Near"]
    )
    assert instance_accuracy.score(labels.sum(axis=0)) == pytest.approx(2 / 3)


def test_predictions_reader(tmp_path):
    path = tmp_path / "predictions.tsv"
    path.write_text("John\tB-PER\tB-PER\nlives\tO\tO\n\nParis\tB-LOC\tO\n", encoding="utf-8")
    assert read_tagging_predictions(path) == ([["B-PER", "O"], ["B-LOC"]], [["B-PER", "O"], ["O"]])
    path.write_text("John\tB-PER\n", encoding="utf-8")
    with pytest.raises(ValueError, match="predictions.tsv:1: expected word<TAB>gold<TAB>predicted"):
        read_tagging_predictions(path)


def _labels(n_correct, n=200):
    return ["A"] * n, ["A"] * n_correct + ["B"] * (n - n_correct)


def test_bootstrap_interval_covers_the_score():
    gold, pred = _labels(150)
    stats = example_stats(instance_accuracy, gold, pred)
    lo, hi = bootstrap_interval(instance_accuracy, [stats], resamples=2000, seed=1)
    assert lo < 0.75 < hi
    # Binomial standard error sqrt(.75 * .25 / 200) = 0.031: a 95% interval about +-0.06.
    assert 0.08 < hi - lo < 0.16
    assert bootstrap_interval(instance_accuracy, [stats], resamples=2000, seed=1) == (lo, hi)  # seeded


def test_paired_bootstrap_separates_a_real_difference_from_none():
    gold, good = _labels(180)
    _, bad = _labels(120)
    a = [example_stats(instance_accuracy, gold, good)]
    b = [example_stats(instance_accuracy, gold, bad)]
    delta, p = paired_bootstrap(instance_accuracy, a, b, resamples=1000)
    assert delta == pytest.approx(0.3) and p < 0.01
    delta, p = paired_bootstrap(instance_accuracy, a, a, resamples=1000)
    assert delta == 0 and p == 1.0
    with pytest.raises(ValueError, match="same non-empty test set"):
        paired_bootstrap(instance_accuracy, a, [a[0][:10]])


def test_cell_interval_t_over_seeds_else_bootstrap():
    lo, hi, how = cell_interval([0.70, 0.72, 0.74], None, None)
    assert (lo, hi) == pytest.approx(t_interval([0.70, 0.72, 0.74])) and how == "t over 3 seeds"
    assert lo < 0.72 < hi and hi - lo == pytest.approx(2 * 4.303 * 0.02 / np.sqrt(3), rel=1e-3)
    gold, pred = _labels(150)
    lo, hi, how = cell_interval(
        [0.75], [example_stats(instance_accuracy, gold, pred)], instance_accuracy, VerdictSettings(resamples=500)
    )
    assert lo < 0.75 < hi and how == "bootstrap over 200 test examples"
    lo, hi, how = cell_interval([0.75], None, None)
    assert np.isnan(lo) and "no interval" in how
