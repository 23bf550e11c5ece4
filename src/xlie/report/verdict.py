"""The reproduction verdict: does the paper's number lie inside our uncertainty interval?

Per cell: a t-interval over seeds when there are at least 3, else a bootstrap interval over
test examples from the saved predictions; and a paired bootstrap test between two rows of a
table. The bootstrap works on any task through an ``ExampleScorer``: each test example is
reduced to a few additive statistics (correct/total, or tp/predicted/gold entities), so a
resample is a weighted sum, and a metric is a function of the summed statistics. A relation
classifier plugs in with ``instance_accuracy`` (one label per example).

Written here rather than taken from scipy.stats.bootstrap because the paired test needs the
same resampled examples for every seed of two systems, and corpus-level F1 is not a mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ExampleScorer:
    """``stats(gold, pred)`` -> additive statistics of one example; ``score(summed)`` -> metric in [0, 1]
    (``summed`` has the statistics on its last axis, any leading axes)."""

    name: str
    stats: Callable[[object, object], Sequence[float]]
    score: Callable[[np.ndarray], np.ndarray]


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)


def _instance_accuracy_stats(gold, pred):
    return (float(gold == pred), 1.0)


def accuracy_from_counts(summed: np.ndarray) -> np.ndarray:
    """Accuracy of summed (correct, total) statistics."""
    return _ratio(summed[..., 0], summed[..., 1])


def f1_from_counts(summed: np.ndarray) -> np.ndarray:
    """F1 of summed (true positives, predicted, gold) statistics."""
    return _ratio(2 * summed[..., 0], summed[..., 1] + summed[..., 2])


# One label per example (a relation classifier's accuracy). A task type names the scorers of its
# metrics (``example_scorer``); metrics without one get the seed t-interval only.
instance_accuracy = ExampleScorer("accuracy", _instance_accuracy_stats, accuracy_from_counts)


def example_stats(scorer: ExampleScorer, gold: Sequence, pred: Sequence) -> np.ndarray:
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold examples but {len(pred)} predicted")
    return np.asarray([scorer.stats(g, p) for g, p in zip(gold, pred)], dtype=float).reshape(len(gold), -1)


def _resample_counts(n: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, n) multiplicities of each example in each bootstrap resample."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(float)


def bootstrap_scores(scorer: ExampleScorer, systems: list[np.ndarray], counts: np.ndarray) -> np.ndarray:
    """Per resample, the mean over ``systems`` (seeds) of the metric on the same resampled examples."""
    return np.mean([scorer.score(counts @ stats) for stats in systems], axis=0)


def bootstrap_interval(
    scorer: ExampleScorer, systems: list[np.ndarray], *, confidence: float = 0.95, resamples: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Percentile interval of the seed-mean metric over test-example resamples."""
    n = _common_length(systems)
    scores = bootstrap_scores(scorer, systems, _resample_counts(n, resamples, seed))
    alpha = (1 - confidence) / 2
    return float(np.quantile(scores, alpha)), float(np.quantile(scores, 1 - alpha))


def paired_bootstrap(
    scorer: ExampleScorer,
    system_a: list[np.ndarray],
    system_b: list[np.ndarray],
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """(observed A - B, two-sided p-value) on the same resampled test examples (Koehn 2004; seeds
    of each system averaged per resample). p is the smallest two-sided level at which the sign of
    A - B is stable: 2 * min(P(delta <= 0), P(delta >= 0)), capped at 1."""
    n = _common_length(system_a + system_b)
    full = np.ones((1, n))
    observed = float(bootstrap_scores(scorer, system_a, full)[0] - bootstrap_scores(scorer, system_b, full)[0])
    counts = _resample_counts(n, resamples, seed)
    delta = bootstrap_scores(scorer, system_a, counts) - bootstrap_scores(scorer, system_b, counts)
    p = 2 * min(np.mean(delta <= 0), np.mean(delta >= 0))
    return observed, float(min(1.0, p))


def _common_length(systems: list[np.ndarray]) -> int:
    lengths = {len(s) for s in systems}
    if len(lengths) != 1 or 0 in lengths:
        raise ValueError(f"systems must score the same non-empty test set; example counts {sorted(lengths)}")
    return lengths.pop()


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Student-t interval of the mean of seed values (needs at least 2)."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        raise ValueError("a t-interval needs at least 2 values")
    half = stats.t.ppf((1 + confidence) / 2, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return float(values.mean() - half), float(values.mean() + half)


@dataclass(frozen=True)
class VerdictSettings:
    confidence: float = 0.95
    resamples: int = 1000
    seed: int = 0
    min_seeds_for_t: int = 3


def cell_interval(
    values: Sequence[float],
    systems: list[np.ndarray] | None,
    scorer: ExampleScorer | None,
    settings: VerdictSettings = VerdictSettings(),
) -> tuple[float, float, str]:
    """(low, high, how) of one cell on the metric's 0-1 scale; NaNs when neither interval applies."""
    if len(values) >= settings.min_seeds_for_t:
        lo, hi = t_interval(values, settings.confidence)
        return lo, hi, f"t over {len(values)} seeds"
    if systems and scorer is not None:
        lo, hi = bootstrap_interval(
            scorer, systems, confidence=settings.confidence, resamples=settings.resamples, seed=settings.seed
        )
        return lo, hi, f"bootstrap over {len(systems[0])} test examples"
    return float("nan"), float("nan"), "no interval (fewer than 3 seeds and no per-example scorer)"


def verdict_summary(verdicts: pd.DataFrame) -> str:
    """'reproduced k of m cells' over the cells that have an interval."""
    judged = verdicts.dropna(subset=["low", "high"])
    if judged.empty:
        return "no cell has both a reported counterpart and an uncertainty interval"
    return f"reproduced {int(judged['reproduced'].sum())} of {len(judged)} cells"
