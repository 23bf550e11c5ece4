"""A table's companions: the reproduction verdict (is the paper's number inside our interval?) and
the paired bootstrap tests between two of its rows, each as a grid. The statistics are in
``xlie.report.verdict``; the per-example scorers and prediction readers come from the task types."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from xlie.report import verdict
from xlie.report.model import (
    MISSING,
    Cell,
    Grid,
    Layout,
    Row,
    column_header,
    column_keys,
    key_label,
    row_keys,
    with_variant,
)
from xlie.report.reported import Reported

VERDICT_COLUMNS = ["row", "paper_row", "column", "ours", "low", "high", "paper", "interval", "reproduced"]


def verdict_settings(reporting: dict) -> verdict.VerdictSettings:
    """The verdict's settings from config ``reporting``."""
    return verdict.VerdictSettings(
        reporting.get("confidence", 0.95),
        reporting.get("bootstrap_resamples", 1000),
        reporting.get("bootstrap_seed", 0),
        reporting.get("min_seeds_for_t", 3),
    )


def scorer_for(task: str, metric: str) -> verdict.ExampleScorer | None:
    """The per-example scorer of a task's metric, from its task type (None: no bootstrap for it)."""
    from xlie.pipeline.registry import task_type

    return task_type(task).example_scorer(metric)


def _predictions_path(metrics_json: str, task) -> Path:
    """A cell's predictions file: its task type's ``predictions_file`` beside its metrics.json."""
    return Path(metrics_json).with_name(task.predictions_file)


def _systems(shown: pd.DataFrame, scorer: verdict.ExampleScorer | None, cache: dict) -> list[np.ndarray] | None:
    """Per-example statistics of every seed of one cell, from the saved predictions (None if absent)."""
    from xlie.pipeline.registry import task_type

    if scorer is None or "metrics_json" not in shown:
        return None
    task = task_type(shown["task"].iloc[0])
    systems = []
    for path in shown["metrics_json"]:
        pred_path = _predictions_path(path, task)
        if not pred_path.is_file():
            return None
        if pred_path not in cache:
            gold, pred = task.read_predictions(pred_path)
            cache[pred_path] = verdict.example_stats(scorer, gold, pred)
        systems.append(cache[pred_path])
    return systems


def _shown(frame: pd.DataFrame, layout: Layout) -> pd.DataFrame:
    """The shown metric's rows, with their row and column keys."""
    shown = with_variant(frame[frame["primary"].astype(bool)])
    return shown.assign(rowkey=row_keys(shown), col=column_keys(layout, shown))


def verdict_frame(
    frame: pd.DataFrame, reported: Reported, layout: Layout, settings: verdict.VerdictSettings, display: dict
) -> pd.DataFrame:
    """One row per (our row with a reported counterpart, column with a reported value)."""
    shown = _shown(frame, layout)
    rep = reported.values
    cache: dict = {}
    rows = []
    for ours, theirs in reported.compare.items():
        for r in rep[(rep["row"] == theirs) & (rep["column"] != "avg")].itertuples():
            cell = shown[(shown["rowkey"] == ours) & (shown["col"] == r.column)]
            if cell.empty:
                continue
            scorer = scorer_for(cell["task"].iloc[0], cell["metric"].iloc[0])
            values = cell["value"].astype(float).tolist()
            systems = None if len(values) >= settings.min_seeds_for_t else _systems(cell, scorer, cache)
            lo, hi, how = verdict.cell_interval(values, systems, scorer, settings)
            inside = bool(100 * lo <= r.value <= 100 * hi) if not math.isnan(lo) else False
            rows.append(
                {
                    "row": key_label(display, ours),
                    "paper_row": theirs,
                    "column": r.column,
                    "ours": 100 * float(np.mean(values)),
                    "low": 100 * lo,
                    "high": 100 * hi,
                    "paper": float(r.value),
                    "interval": how,
                    "reproduced": inside,
                }
            )
    return pd.DataFrame(rows, columns=VERDICT_COLUMNS)


def verdict_grid(verdicts: pd.DataFrame, layout: Layout, confidence: float) -> Grid:
    rows = []
    for v in verdicts.itertuples():
        inside = MISSING if math.isnan(v.low) else ("yes" if v.reproduced else "no")
        interval = MISSING if math.isnan(v.low) else f"{v.low:.1f}\u2013{v.high:.1f}"
        cells = [
            Cell(f"{v.ours:.1f}"),
            Cell(interval),
            Cell(f"{v.paper:.1f}", italic=True),
            Cell(inside, bold=inside == "yes"),
            Cell(v.interval),
        ]
        rows.append(Row(Cell(f"{v.row}, {column_header(layout, v.column)}"), cells))
    return Grid("Cell", ["Ours", f"{confidence:.0%} interval", "Paper", "Inside", "Interval from"], [rows])


def paired_grid(
    frame: pd.DataFrame, pairs: list[list[str]], layout: Layout, settings: verdict.VerdictSettings, display: dict
) -> Grid | None:
    """Per cell: A - B (x100) and the paired-bootstrap p-value over test examples."""
    shown = _shown(frame, layout)
    cols = list(dict.fromkeys(shown["col"]))
    scorer = scorer_for(shown["task"].iloc[0], shown["metric"].iloc[0])
    cache: dict = {}
    rows = []
    for a, b in pairs:
        deltas, pvalues = [], []
        for col in cols:
            cell_a, cell_b = (shown[(shown["rowkey"] == k) & (shown["col"] == col)] for k in (a, b))
            sys_a = _systems(cell_a, scorer, cache) if not cell_a.empty else None
            sys_b = _systems(cell_b, scorer, cache) if not cell_b.empty else None
            if not sys_a or not sys_b:
                deltas.append(Cell(MISSING))
                pvalues.append(Cell(MISSING))
                continue
            delta, p = verdict.paired_bootstrap(scorer, sys_a, sys_b, resamples=settings.resamples, seed=settings.seed)
            deltas.append(Cell(f"{100 * delta:+.1f}".replace("-", "\u2212")))
            # No resample against the sign: p is below the resolution 1 / resamples, not zero.
            text = f"<{1 / settings.resamples:.3f}" if p == 0 else f"{p:.3f}"
            pvalues.append(Cell(text, bold=p < 1 - settings.confidence))
        if all(c.text == MISSING for c in deltas):
            continue
        la, lb = (key_label(display, k) for k in (a, b))
        rows.append([Row(Cell(f"\u0394 {la} \u2212 {lb}"), deltas), Row(Cell("p"), pvalues)])
    if not rows:
        return None
    return Grid("Pair", [column_header(layout, c) for c in cols], rows)
