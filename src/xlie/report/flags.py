"""Numbers that measure nothing: cells whose predictions fell back, went unparsed or were truncated
too often (config ``reporting.diagnostic_counts``, ``reporting.flag_share``), and cells that do
not beat the task's floor baseline; and the per-paper diagnostics tables of those shares."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from xlie.report.collect import CELL_KEYS
from xlie.report.model import MARK_AT_BASELINE, MARK_DEGENERATE, MISSING, Cell, Grid, Row, row_label, with_variant

ROW_CELL = ["method", "variant", "model", "source", "target"]
SHARE_IDS = [*ROW_CELL, "seed", "task"]


def diagnostic_shares(frame: pd.DataFrame, units: dict[str, str]) -> pd.DataFrame:
    """Per shown row (cell and seed): the share of each diagnostic count (count / words or sentences)."""
    shown = with_variant(frame[frame["primary"].astype(bool)])
    out = shown[SHARE_IDS].copy()
    for name, unit in units.items():
        col = f"count_{name}"
        denom_col = f"count_{unit}"
        if col in shown and denom_col in shown:
            denom = shown[denom_col].astype(float).where(shown[denom_col].astype(float) > 0)
            out[name] = shown[col].astype(float).fillna(0) / denom
    return out


def cell_flags(frame: pd.DataFrame, reporting: dict) -> pd.DataFrame:
    """Per table cell: the worst diagnostic share (mean over seeds), whether the score does not beat the
    floor baseline, and the marks to print."""
    units = reporting.get("diagnostic_counts", {})
    frame = with_variant(frame)
    shares = diagnostic_shares(frame, units)
    share_cols = [c for c in shares.columns if c not in SHARE_IDS]
    shares["worst_share"] = shares[share_cols].max(axis=1) if share_cols else 0.0
    shares["worst_count"] = shares[share_cols].idxmax(axis=1) if share_cols else ""
    per_cell = shares.groupby(ROW_CELL, sort=False).agg(share=("worst_share", "mean"), count=("worst_count", "first"))
    shown = frame[frame["primary"].astype(bool)]
    scores = shown.groupby(ROW_CELL, sort=False).agg(value=("value", "mean"), baseline=("floor_baseline", "mean"))
    out = per_cell.join(scores).reset_index()
    threshold = reporting.get("flag_share", 0.05)
    out["degenerate"] = out["share"].fillna(0) > threshold
    # Compared at the printed precision: 5.0 vs 5.0 does not beat the baseline.
    out["at_baseline"] = (out["value"] * 100).round(1) <= (out["baseline"] * 100).round(1)
    out["marks"] = np.where(out["degenerate"], MARK_DEGENERATE, "") + np.where(out["at_baseline"], MARK_AT_BASELINE, "")
    return out


def flagged_cells(frame: pd.DataFrame, reporting: dict) -> dict[tuple[str, str, str, str, str], str]:
    """(method, variant, model, source, target) -> the marks the tables give that cell (plots hatch
    or mark those cells)."""
    flags = cell_flags(frame, reporting)
    return {
        (f.method, str(f.variant), f.model, str(f.source), str(f.target)): f.marks
        for f in flags.itertuples()
        if f.marks
    }


def diagnostics_grids(frames: list[pd.DataFrame], reporting: dict, display: dict) -> dict[str, Grid]:
    """Per task: rows (method / model: count), columns its target languages, cells the share of the
    count in % (mean over seeds); bold above the flag threshold."""
    frame = with_variant(pd.concat(frames, ignore_index=True))
    frame = frame.drop_duplicates([*CELL_KEYS, "metric"])  # a cell shared by two tables counts once
    frame = frame.assign(primary=frame["task_primary"]) if "task_primary" in frame else frame
    shares = diagnostic_shares(frame, reporting.get("diagnostic_counts", {}))
    names = [c for c in shares.columns if c not in SHARE_IDS]
    threshold = reporting.get("flag_share", 0.05)
    grids = {}
    for task, part in shares.groupby("task", sort=False):
        targets = list(dict.fromkeys(part["target"]))
        rows = []
        for (method, variant, model), cell in part.groupby(["method", "variant", "model"], sort=False):
            means = cell.groupby("target", sort=False)[names].mean()
            for name in names:
                if not (means[name].fillna(0) > 0).any():
                    continue
                values = [means.at[t, name] if t in means.index else math.nan for t in targets]
                cells = [
                    Cell(MISSING if pd.isna(v) else f"{100 * v:.1f}", bold=not pd.isna(v) and v > threshold)
                    for v in values
                ]
                label = f"{row_label(display, method, model, variant)}: {name.replace('_', ' ')}"
                rows.append(Row(Cell(label), cells))
        if not rows:
            rows = [Row(Cell("none in any cell"), [Cell("") for _ in targets])]
        grids[str(task)] = Grid("Row: count", targets, [rows])
    return grids
