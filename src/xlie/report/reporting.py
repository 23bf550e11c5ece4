"""From a table's metrics to what a reader sees: flags, captions, the paper's numbers, the verdict.

``steps`` calls these with the resolved config; ``tables`` lays the result out. Every number a
caption states (seeds per cell, which columns an average covers) is computed here, not written
in config.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from xlie.report import tables

from xlie.report import verdict
from xlie.pipeline.runtime import atomic_path

CELL_KEYS = ["paper", "task", "model", "method", "variant", "source", "target", "seed"]
ROW_CELL = ["method", "variant", "model", "source", "target"]
SHARE_IDS = [*ROW_CELL, "seed", "task"]


# ---------------------------------------------------------------------------------------------
# Metrics CSVs


def collect_table_metrics(cells: list[dict], runs_root: str, metric: str | None, out_csv: str) -> pd.DataFrame:
    """One table's tidy metrics: one row per (cell, metric); ``primary`` marks the metric the table
    shows (``metric`` or the task's own), ``task_primary`` the task's headline metric. Counts from
    metrics.json become ``count_<name>`` columns; ``variant`` follows ``method`` (``default`` for a
    cell without one) and ``dev_score`` is the run's source-dev score of model selection
    (metrics.json's ``dev_selection.value``; empty for zero-shot methods)."""
    rows = []
    for cell in cells:
        path = Path(runs_root) / cell["run"] / "eval" / str(cell["target"]) / "metrics.json"
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"{path}: cannot read the cell's metrics ({err})") from None
        scores = payload["scores"]
        shown = metric or scores["primary_name"]
        if shown not in scores:
            raise ValueError(f"{path}: no metric {shown!r} (has {', '.join(k for k in scores if k != 'primary_name')})")
        counts = {f"count_{k}": v for k, v in payload.get("counts", {}).items() if isinstance(v, (int, float))}
        base = {k: cell.get(k, tables.DEFAULT_VARIANT) if k == "variant" else cell[k] for k in ["paper", "table", *CELL_KEYS[1:]]}
        dev = payload.get("dev_selection") or {}
        dev_score = dev.get("value") if isinstance(dev.get("value"), (int, float)) else math.nan
        dev_metric = dev.get("metric") if dev_score == dev_score else None  # NaN: zero-shot, no selection
        for name, value in scores.items():
            if name in ("primary", "primary_name") or not isinstance(value, (int, float)):
                continue
            rows.append({**base, "metric": name, "value": value, "primary": name == shown,
                         "task_primary": name == scores["primary_name"],
                         "majority_baseline": payload.get("majority_baseline", {}).get(name), "dev_score": dev_score,
                         "dev_metric": dev_metric,
                         "config_sha256": payload.get("provenance", {}).get("config_sha256"),
                         "metrics_json": str(path), **counts})  # fmt: skip
    frame = pd.DataFrame(rows)
    with atomic_path(out_csv) as tmp:
        frame.to_csv(tmp, index=False)
    return frame


def merge_metrics(table_csvs: list[str], out_csv: str) -> pd.DataFrame:
    """All tables' metrics, one row per (cell, metric): a cell shared by two tables appears once,
    with its tables in ``table`` (';'-joined); ``primary`` is the task's headline metric."""
    frames = [tables.with_variant(pd.read_csv(p)) for p in table_csvs]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    keys = CELL_KEYS + ["metric"]
    tables_of = frame.groupby(keys, sort=False, dropna=False)["table"].agg(lambda s: ";".join(dict.fromkeys(s)))
    merged = frame.drop_duplicates(keys).set_index(keys)
    merged["table"] = tables_of
    merged = merged.reset_index().drop(columns=["primary"]).rename(columns={"task_primary": "primary"})
    front = ["paper", "table", *CELL_KEYS[1:], "metric", "value", "primary", "majority_baseline"]
    merged = merged[front + [c for c in merged.columns if c not in front]]
    with atomic_path(out_csv) as tmp:
        merged.to_csv(tmp, index=False)
    return merged


# ---------------------------------------------------------------------------------------------
# Rows selected from a method's variants (Prompt-XRE's "mBART+prompt")


def _variant_sort(variants, order: list[str]) -> list[str]:
    order = [str(v) for v in order]
    return sorted(dict.fromkeys(variants), key=lambda v: (order.index(v) if v in order else len(order)))


def select_variants(frame: pd.DataFrame, selection: dict, *, layout: tables.Layout, display: dict,
                    variant_order: list[str] | None = None) -> tuple[pd.DataFrame, list[str], set[str]]:  # fmt: skip
    """Add the rows a table's ``variant_selection`` asks for to a metrics frame, as rows of the
    method with variant ``oracle`` / ``dev`` (copies of the chosen variant's rows, every metric and
    seed, so flags, std, verdicts and paired tests follow the chosen cells).

    ``oracle``: per column (model, source, target), the variant with the best mean TEST score: how
    the paper made its mBART+prompt rows; it used the test labels, so it is never bold.
    ``dev``: per (model, source language), the variant with the best mean source-dev score
    (``dev_score``, the training's own model-selection number); its test scores in every column of
    that source. Ties go to the earlier variant in config order. ``show_variants: false`` drops the
    variants' own rows (they are in another table).

    Returns (frame, caption notes, row keys never bold)."""
    method = selection["method"]
    exclude = {str(v) for v in selection.get("exclude", [])}
    wanted = list(selection.get("rows", list(tables.SELECTION_VARIANTS)))
    frame = tables.with_variant(frame)
    reserved = {tables.DEFAULT_VARIANT, *tables.SELECTION_VARIANTS}
    clash = sorted(set(frame.loc[frame["method"] == method, "variant"]) & set(tables.SELECTION_VARIANTS))
    if clash:
        raise ValueError(f"variant_selection: {method!r} has run variants named {clash}, reserved for selected rows")
    is_candidate = (frame["method"] == method) & ~frame["variant"].isin(exclude | reserved)
    candidates = frame[is_candidate]
    if candidates.empty:
        raise ValueError(f"variant_selection: the table has no variants of method {method!r} to select from "
                         f"(excluded: {', '.join(sorted(exclude)) or 'none'})")  # fmt: skip
    order = _variant_sort(candidates["variant"], list(variant_order or []))
    shown = candidates[candidates["primary"].astype(bool)]
    models = list(dict.fromkeys(shown["model"]))

    def label(variant: str) -> str:
        return tables.variant_label(display, method, variant)

    def where(model: str, variant: str, **cell) -> pd.Series:
        mask = (candidates["model"] == model) & (candidates["variant"] == variant)
        for key, value in cell.items():
            mask &= candidates[key].astype(str) == str(value)
        return mask

    def first_best(scores: pd.Series) -> str:
        scores = scores.dropna()
        top = scores.max()
        return next(v for v in order if v in scores.index and scores[v] == top)

    added, notes = [], []
    if tables.ORACLE_VARIANT in wanted:
        picks = []
        means = shown.groupby(["model", "source", "target", "variant"], sort=False)["value"].mean()
        for (model, source, target), scores in means.groupby(level=[0, 1, 2], sort=False):
            pick = first_best(scores.droplevel([0, 1, 2]))
            added.append(candidates[where(model, pick, source=source, target=target)].assign(variant=tables.ORACLE_VARIANT))
            column = tables.column_header(layout, tables.column_key(layout, source, target))
            picks.append(f"{column}{f' ({model})' if len(models) > 1 else ''} {label(pick)}")
        notes.append(f"{label(tables.ORACLE_VARIANT)}: test-set selection (oracle), per column the variant with the "
                     f"best TEST score ({', '.join(picks)}), as the paper made its row; it used the test labels, so it "
                     "is an upper bound, not a model one could pick in advance, and never bold.")  # fmt: skip
    if tables.DEV_VARIANT in wanted:
        dev = shown.groupby(["model", "source", "variant"], sort=False)["dev_score"].mean() if "dev_score" in shown else None
        picks, missing = [], []
        for model in models:
            for source in dict.fromkeys(shown.loc[shown["model"] == model, "source"]):
                scores = pd.Series(dtype=float)
                if dev is not None:
                    at = (dev.index.get_level_values(0) == model) & (dev.index.get_level_values(1) == source)
                    scores = dev[at].droplevel([0, 1])
                if scores.dropna().empty:
                    missing.append(str(source))
                    continue
                pick = first_best(scores)
                added.append(candidates[where(model, pick, source=source)].assign(variant=tables.DEV_VARIANT))
                picks.append(f"{source}{f' ({model})' if len(models) > 1 else ''} {label(pick)}")
        metric = ""
        if "dev_metric" in shown and shown["dev_metric"].notna().any():
            metric = " " + str(shown["dev_metric"].dropna().iloc[0])
        if picks:
            notes.append(f"{label(tables.DEV_VARIANT)}: per source language the variant with the best mean "
                         f"source-dev{metric} (no test labels): {', '.join(picks)}; its test scores fill every "
                         "column of that source.")  # fmt: skip
        if missing:
            notes.append(f"No dev-selected row for source {', '.join(missing)}: its runs recorded no dev score.")
    if not selection.get("show_variants", True):
        frame = frame[~is_candidate]
    frame = pd.concat([frame, *added], ignore_index=True)
    unranked = {tables.row_key(method, tables.ORACLE_VARIANT, m) for m in models}
    return frame, notes, unranked


# ---------------------------------------------------------------------------------------------
# Flags: numbers that measure nothing


def diagnostic_shares(frame: pd.DataFrame, units: dict[str, str]) -> pd.DataFrame:
    """Per shown row (cell and seed): the share of each diagnostic count (count / words or sentences)."""
    shown = tables.with_variant(frame[frame["primary"].astype(bool)])
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
    majority-label baseline, and the marks to print."""
    units = reporting.get("diagnostic_counts", {})
    frame = tables.with_variant(frame)
    shares = diagnostic_shares(frame, units)
    share_cols = [c for c in shares.columns if c not in SHARE_IDS]
    shares["worst_share"] = shares[share_cols].max(axis=1) if share_cols else 0.0
    shares["worst_count"] = shares[share_cols].idxmax(axis=1) if share_cols else ""
    per_cell = shares.groupby(ROW_CELL, sort=False).agg(share=("worst_share", "mean"), count=("worst_count", "first"))
    shown = frame[frame["primary"].astype(bool)]
    scores = shown.groupby(ROW_CELL, sort=False).agg(value=("value", "mean"), baseline=("majority_baseline", "mean"))
    out = per_cell.join(scores).reset_index()
    threshold = reporting.get("flag_share", 0.05)
    out["degenerate"] = out["share"].fillna(0) > threshold
    # Compared at the printed precision: 5.0 vs 5.0 does not beat the baseline.
    out["at_baseline"] = (out["value"] * 100).round(1) <= (out["baseline"] * 100).round(1)
    out["marks"] = np.where(out["degenerate"], tables.MARK_DEGENERATE, "") + np.where(
        out["at_baseline"], tables.MARK_AT_BASELINE, "")
    return out


def flag_notes(flags: pd.DataFrame, reporting: dict, baseline: str = "Majority label") -> list[str]:
    notes = []
    if flags["degenerate"].any():
        notes.append(f"{tables.MARK_DEGENERATE} More than {reporting.get('flag_share', 0.05):.0%} of the cell's "
                     "predictions fell back, went unparsed or were truncated (see the diagnostics table).")  # fmt: skip
    if flags["at_baseline"].any():
        named = "majority-label" if baseline == "Majority label" else baseline[0].lower() + baseline[1:]
        notes.append(f"{tables.MARK_AT_BASELINE} Does not beat the {named} baseline.")
    return notes


# ---------------------------------------------------------------------------------------------
# Captions


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def seeds_note(summary: pd.DataFrame, display: dict) -> str:
    """How many runs each cell averages, stated from the data (n differs for zero-shot rows)."""
    per_row = tables.with_variant(summary).groupby(["method", "variant", "model"], sort=False)["n"].agg(["min", "max"])
    counts = sorted(set(per_row["min"]) | set(per_row["max"]))
    if counts == [1]:
        return "One run per cell (n = 1), so no std."
    if len(counts) == 1:
        return f"Mean {tables.PLUS_MINUS} std over n = {counts[0]} seeds per cell."
    parts = []
    for n in sorted(set(per_row["max"]), reverse=True):
        rows = [tables.row_label(display, me, mo, va) for (me, va, mo), r in per_row.iterrows() if r["max"] == n]
        parts.append(f"n = {n} for {_join(rows)}")
    return f"Mean {tables.PLUS_MINUS} std over seeds ({'; '.join(parts)}; n = 1: a single run, no std)."


def average_note(layout: tables.Layout, summary: pd.DataFrame, groups: dict) -> str:
    """What the average columns average; ``groups`` (language families) unless the layout names its
    own groups, whose members the note lists (and those the table lacks)."""
    sources = sorted(set(summary["source"].astype(str)))
    avg = tables.average_header(layout)
    if layout.columns == "pair":
        pairs = {f"{s}-{t}" for s, t in zip(summary["source"], summary["target"])}
        cross = [p for p in pairs if p.split("-")[0] != p.split("-")[1]]
        if layout.exclude_source and cross:
            text = f"{avg}: mean over the cross-lingual pairs (monolingual pairs excluded), recomputed from the cells"
        else:
            text = f"{avg}: mean over all pairs, recomputed from the cells"
    elif layout.columns == "target" and layout.exclude_source and set(sources) & set(summary["target"].astype(str)):
        text = f"{avg}: mean over the target languages except the source ({', '.join(sources)}), recomputed from the cells"
    else:
        text = f"{avg}: mean over all columns, recomputed from the cells"
    if layout.groups:
        cols = [tables.column_key(layout, s, t) for s, t in zip(summary["source"], summary["target"])]
        for name, present in tables.group_members(layout, cols).items():
            shown = ", ".join(tables.column_header(layout, c) for c in present) or "none of its columns"
            text += f"; {tables.average_header(layout, name)}: mean over {shown}"
            absent = [c for c in dict(layout.groups)[name] if c not in present]
            if absent:
                text += f" (not run here: {', '.join(absent)}, so not the paper's average)"
    elif groups:
        text += "; group averages by language family (Glottolog)"
    return text + "."


def metric_name(config: dict, metric: str, task: str | None = None) -> str:
    """How captions name a metric: ``display.metrics["<task>/<metric>"]`` (a task whose accuracy is
    not token accuracy), else ``display.metrics[metric]``, else the raw name."""
    names = config.get("display", {}).get("metrics", {})
    return names.get(f"{task}/{metric}") or names.get(metric, metric)


# ---------------------------------------------------------------------------------------------
# The verdict and the paired tests


def _predictions_path(metrics_json: str) -> Path:
    return Path(metrics_json).with_name("predictions.tsv")


def scorer_for(task: str, metric: str) -> verdict.ExampleScorer | None:
    """The per-example scorer of a task's metric, from its task type (None: no bootstrap for it)."""
    from xlie.pipeline.registry import task_type

    return task_type(task).example_scorer(metric)


def _systems(shown: pd.DataFrame, scorer: verdict.ExampleScorer | None, cache: dict) -> list[np.ndarray] | None:
    """Per-example statistics of every seed of one cell, from the saved predictions (None if absent)."""
    from xlie.pipeline.registry import task_type

    if scorer is None or "metrics_json" not in shown:
        return None
    systems = []
    for path in shown["metrics_json"]:
        pred_path = _predictions_path(path)
        if not pred_path.is_file():
            return None
        if pred_path not in cache:
            gold, pred = task_type(shown["task"].iloc[0]).read_predictions(pred_path)
            cache[pred_path] = verdict.example_stats(scorer, gold, pred)
        systems.append(cache[pred_path])
    return systems


def verdict_frame(frame: pd.DataFrame, reported: tables.Reported, layout: tables.Layout,
                  settings: verdict.VerdictSettings, display: dict) -> pd.DataFrame:  # fmt: skip
    """One row per (our row with a reported counterpart, column with a reported value)."""
    shown = tables.with_variant(frame[frame["primary"].astype(bool)])
    shown["rowkey"] = tables.row_keys(shown)
    shown["col"] = [tables.column_key(layout, s, t) for s, t in zip(shown["source"], shown["target"])]
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
            rows.append({"row": tables.key_label(display, ours), "paper_row": theirs, "column": r.column,
                         "ours": 100 * float(np.mean(values)), "low": 100 * lo, "high": 100 * hi,
                         "paper": float(r.value), "interval": how,
                         "reproduced": bool(100 * lo <= r.value <= 100 * hi) if not math.isnan(lo) else False})  # fmt: skip
    return pd.DataFrame(rows, columns=["row", "paper_row", "column", "ours", "low", "high", "paper", "interval", "reproduced"])


def verdict_grid(verdicts: pd.DataFrame, layout: tables.Layout, confidence: float) -> tables.Grid:
    rows = []
    for v in verdicts.itertuples():
        inside = "--" if math.isnan(v.low) else ("yes" if v.reproduced else "no")
        interval = "--" if math.isnan(v.low) else f"{v.low:.1f}\u2013{v.high:.1f}"
        rows.append(tables.Row(tables.Cell(f"{v.row}, {tables.column_header(layout, v.column)}"),
                               [tables.Cell(f"{v.ours:.1f}"), tables.Cell(interval), tables.Cell(f"{v.paper:.1f}", italic=True),
                                tables.Cell(inside, bold=inside == "yes"), tables.Cell(v.interval)]))  # fmt: skip
    return tables.Grid("Cell", ["Ours", f"{confidence:.0%} interval", "Paper", "Inside", "Interval from"], [rows])


def paired_grid(frame: pd.DataFrame, pairs: list[list[str]], layout: tables.Layout, settings: verdict.VerdictSettings,
                display: dict) -> tables.Grid | None:  # fmt: skip
    """Per cell: A - B (x100) and the paired-bootstrap p-value over test examples."""
    shown = tables.with_variant(frame[frame["primary"].astype(bool)])
    shown["rowkey"] = tables.row_keys(shown)
    shown["col"] = [tables.column_key(layout, s, t) for s, t in zip(shown["source"], shown["target"])]
    cols = list(dict.fromkeys(shown["col"]))
    cache: dict = {}
    rows = []
    for a, b in pairs:
        deltas, pvalues = [], []
        for col in cols:
            cell_a, cell_b = (shown[(shown["rowkey"] == k) & (shown["col"] == col)] for k in (a, b))
            scorer = scorer_for(shown["task"].iloc[0], shown["metric"].iloc[0])
            sys_a = _systems(cell_a, scorer, cache) if not cell_a.empty else None
            sys_b = _systems(cell_b, scorer, cache) if not cell_b.empty else None
            if not sys_a or not sys_b:
                deltas.append(tables.Cell(tables.MISSING))
                pvalues.append(tables.Cell(tables.MISSING))
                continue
            delta, p = verdict.paired_bootstrap(scorer, sys_a, sys_b, resamples=settings.resamples, seed=settings.seed)
            deltas.append(tables.Cell(f"{100 * delta:+.1f}".replace("-", "\u2212")))
            # No resample against the sign: p is below the resolution 1 / resamples, not zero.
            text = f"<{1 / settings.resamples:.3f}" if p == 0 else f"{p:.3f}"
            pvalues.append(tables.Cell(text, bold=p < 1 - settings.confidence))
        if all(c.text == tables.MISSING for c in deltas):
            continue
        la, lb = (tables.key_label(display, k) for k in (a, b))
        rows.append([tables.Row(tables.Cell(f"\u0394 {la} \u2212 {lb}"), deltas), tables.Row(tables.Cell("p"), pvalues)])
    if not rows:
        return None
    return tables.Grid("Pair", [tables.column_header(layout, c) for c in cols], rows)


# ---------------------------------------------------------------------------------------------
# Diagnostics per paper


def diagnostics_grids(frames: list[pd.DataFrame], reporting: dict, display: dict) -> dict[str, tables.Grid]:
    """Per task: rows (method / model: count), columns its target languages, cells the share of the
    count in % (mean over seeds); bold above the flag threshold."""
    frame = tables.with_variant(pd.concat(frames, ignore_index=True))
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
                cells = [tables.Cell(tables.MISSING if pd.isna(v) else f"{100 * v:.1f}", bold=not pd.isna(v) and v > threshold)
                         for v in values]  # fmt: skip
                label = f"{tables.row_label(display, method, model, variant)}: {name.replace('_', ' ')}"
                rows.append(tables.Row(tables.Cell(label), cells))
        if not rows:
            rows = [tables.Row(tables.Cell("none in any cell"), [tables.Cell("") for _ in targets])]
        grids[str(task)] = tables.Grid("Row: count", targets, [rows])
    return grids
