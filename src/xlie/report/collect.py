"""From the cells' metrics.json to tidy CSVs: one per table, and one of every table's cells."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from xlie.pipeline.runtime import atomic_path
from xlie.report.model import DEFAULT_VARIANT, with_variant

CELL_KEYS = ["paper", "task", "model", "method", "variant", "source", "target", "seed"]


def _read_metrics(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: cannot read the cell's metrics ({err})") from None


def collect_table_metrics(cells: list[dict], runs_root: str, metric: str | None, out_csv: str) -> pd.DataFrame:
    """One table's tidy metrics: one row per (cell, metric); ``primary`` marks the metric the table
    shows (``metric``; ``authors``: per cell, the metric its method's authors used; none: the task's
    own), ``task_primary`` the task's headline metric. Counts from metrics.json become
    ``count_<name>`` columns; ``variant`` follows ``method`` (``default`` for a cell without one)
    and ``dev_score`` is the run's source-dev score of model selection (metrics.json's
    ``dev_selection.value``; empty for zero-shot methods)."""
    rows = []
    for cell in cells:
        path = Path(runs_root) / cell["run"] / "eval" / str(cell["target"]) / "metrics.json"
        payload = _read_metrics(path)
        scores = payload["scores"]
        # "authors": per cell, the metric its method's authors used (the task's own when none is named).
        shown = scores.get("authors_metric", scores["primary_name"]) if metric == "authors" else metric
        shown = shown or scores["primary_name"]
        if shown not in scores:
            has = ", ".join(k for k in scores if k != "primary_name")
            raise ValueError(f"{path}: no metric {shown!r} (has {has})")
        counts = {f"count_{k}": v for k, v in payload.get("counts", {}).items() if isinstance(v, (int, float))}
        keys = ["paper", "table", *CELL_KEYS[1:]]
        base = {k: cell.get(k, DEFAULT_VARIANT) if k == "variant" else cell[k] for k in keys}
        dev = payload.get("dev_selection") or {}
        dev_score = dev.get("value") if isinstance(dev.get("value"), (int, float)) else math.nan
        dev_metric = dev.get("metric") if dev_score == dev_score else None  # NaN: zero-shot, no selection
        for name, value in scores.items():
            if name in ("primary", "primary_name") or not isinstance(value, (int, float)):
                continue
            rows.append(
                {
                    **base,
                    "metric": name,
                    "value": value,
                    "primary": name == shown,
                    "task_primary": name == scores["primary_name"],
                    "floor_baseline": payload.get("floor_baseline", {}).get(name),
                    "dev_score": dev_score,
                    "dev_metric": dev_metric,
                    "config_sha256": payload.get("provenance", {}).get("config_sha256"),
                    "metrics_json": str(path),
                    **counts,
                }
            )
    frame = pd.DataFrame(rows)
    with atomic_path(out_csv) as tmp:
        frame.to_csv(tmp, index=False)
    return frame


def merge_metrics(table_csvs: list[str], out_csv: str) -> pd.DataFrame:
    """All tables' metrics, one row per (cell, metric): a cell shared by two tables appears once,
    with its tables in ``table`` (';'-joined); ``primary`` is the task's headline metric."""
    frames = [with_variant(pd.read_csv(p)) for p in table_csvs]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    keys = CELL_KEYS + ["metric"]
    tables_of = frame.groupby(keys, sort=False, dropna=False)["table"].agg(lambda s: ";".join(dict.fromkeys(s)))
    merged = frame.drop_duplicates(keys).set_index(keys)
    merged["table"] = tables_of
    merged = merged.reset_index().drop(columns=["primary"]).rename(columns={"task_primary": "primary"})
    front = ["paper", "table", *CELL_KEYS[1:], "metric", "value", "primary", "floor_baseline"]
    merged = merged[front + [c for c in merged.columns if c not in front]]
    with atomic_path(out_csv) as tmp:
        merged.to_csv(tmp, index=False)
    return merged
