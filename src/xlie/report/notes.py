"""The sentences of a table's caption: every number a caption states (seeds per cell, which
columns an average covers, a relative improvement) is computed from the data here, not written
in config. ``xlie.report.compose`` decides which a table's caption carries, in which order."""

from __future__ import annotations

import pandas as pd

from xlie.report.model import (
    MARK_AT_BASELINE,
    MARK_COPIED,
    MARK_DEGENERATE,
    MARK_PRINTED_AVG,
    MISSING,
    PLUS_MINUS,
    WITH_SOURCE,
    Layout,
    average_header,
    column_header,
    column_keys,
    group_members,
    row_label,
    with_variant,
)
from xlie.report.reported import is_copied


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def metric_name(display: dict, metric: str, task: str | None = None) -> str:
    """How captions name a metric: the user's ``display.metrics["<task>/<metric>"]`` or
    ``display.metrics[metric]``, else the caption registered with the task's metric, else the raw name."""
    from xlie.pipeline.registry import metric_spec

    names = display.get("metrics", {})
    registered = metric_spec(task, metric) if task else None
    return names.get(f"{task}/{metric}") or names.get(metric) or (registered.caption if registered else metric)


def metric_note(display: dict, shown: dict[str, list[tuple[str, str, str]]], task: str) -> str:
    """``shown``: metric -> its (method, variant, model) rows (compose.metrics_shown)."""
    if len(shown) == 1:
        return f"Metric: {metric_name(display, next(iter(shown)), task)}, in %."
    parts = [
        f"{metric_name(display, metric, task)} for {_join([row_label(display, me, mo, va) for me, va, mo in rows])}"
        for metric, rows in shown.items()
    ]
    return f"Each row in the metric its authors scored it with, in %: {'; '.join(parts)}."


BOLD_NOTE = "Bold: best of our unflagged rows per column."


def seeds_note(summary: pd.DataFrame, display: dict) -> str:
    """How many runs each cell averages, stated from the data (n differs for zero-shot rows)."""
    per_row = with_variant(summary).groupby(["method", "variant", "model"], sort=False)["n"].agg(["min", "max"])
    counts = sorted(set(per_row["min"]) | set(per_row["max"]))
    if counts == [1]:
        return "One run per cell (n = 1), so no std."
    if len(counts) == 1:
        return f"Mean {PLUS_MINUS} std over n = {counts[0]} seeds per cell."
    parts = []
    for n in sorted(set(per_row["max"]), reverse=True):
        rows = [row_label(display, me, mo, va) for (me, va, mo), r in per_row.iterrows() if r["max"] == n]
        parts.append(f"n = {n} for {_join(rows)}")
    return f"Mean {PLUS_MINUS} std over seeds ({'; '.join(parts)}; n = 1: a single run, no std)."


def average_note(layout: Layout, summary: pd.DataFrame, groups: dict) -> str:
    """What the average columns average; ``groups`` (language families) unless the layout names its
    own groups, whose members the note lists (and those the table lacks)."""
    sources = sorted(set(summary["source"].astype(str)))
    avg = average_header(layout)
    recomputed = "recomputed from the cells"
    if layout.columns == "pair":
        cross = [1 for s, t in zip(summary["source"], summary["target"]) if str(s) != str(t)]
        if layout.exclude_source and cross:
            text = f"{avg}: mean over the cross-lingual pairs (monolingual pairs excluded), {recomputed}"
        else:
            text = f"{avg}: mean over all pairs, {recomputed}"
    elif layout.columns == "target" and layout.exclude_source and set(sources) & set(summary["target"].astype(str)):
        text = f"{avg}: mean over the target languages except the source ({', '.join(sources)}), {recomputed}"
    else:
        text = f"{avg}: mean over all columns, {recomputed}"
    if layout.average_with_source and layout.exclude_source and text.startswith(f"{avg}: mean over the"):
        text += f"; {average_header(layout, WITH_SOURCE)}: mean over all columns, the source included"
    if layout.groups:
        for name, present in group_members(layout, column_keys(layout, summary)).items():
            shown = ", ".join(column_header(layout, c) for c in present) or "none of its columns"
            text += f"; {average_header(layout, name)}: mean over {shown}"
            absent = [c for c in dict(layout.groups)[name] if c not in present]
            if absent:
                text += f" (not run here: {', '.join(absent)}, so not the paper's average)"
    elif groups:
        text += "; group averages by language family (Glottolog)"
    return text + "."


def flag_notes(flags: pd.DataFrame, reporting: dict, baseline: str) -> list[str]:
    """What the cell marks mean, for the marks the table has; ``baseline``: the floor baseline's name."""
    out = []
    if flags["degenerate"].any():
        out.append(
            f"{MARK_DEGENERATE} More than {reporting.get('flag_share', 0.05):.0%} of the cell's predictions fell "
            "back, went unparsed or were truncated (see the diagnostics table)."
        )
    if flags["at_baseline"].any():
        named = baseline[0].lower() + baseline[1:]
        named = "majority-label" if named == "majority label" else named
        out.append(f"{MARK_AT_BASELINE} Does not beat the {named} baseline.")
    return out


def reference_note(reference: pd.DataFrame) -> str:
    return "Italic rows at the bottom: " + "; ".join(dict.fromkeys(reference["source_note"])) + "."


def reported_note(rep: pd.DataFrame) -> str:
    """Where the italic reported rows come from. Several sources: which rows each covers, and rows
    the paper copied from other work marked (they are not the paper's runs)."""
    sources = list(dict.fromkeys(rep["source"].astype(str)))
    if len(sources) == 1:
        return f"Italic rows: the paper's numbers ({sources[0]})."
    parts = []
    for source in sources:
        names = list(dict.fromkeys(rep.loc[rep["source"].astype(str) == source, "row"]))
        parts.append(f"{', '.join(names)}: {source}")
    text = f"Italic rows: the paper's numbers ({'; '.join(parts)})."
    if any(is_copied(s) for s in sources):
        text += (
            f" {MARK_COPIED} Copied by the paper from other work, not run by its authors: other code, "
            "preprocessing and protocols, so not a like-for-like comparison."
        )
    return text


def printed_average_note(header: str, printed: float, row: str, of: str, mean: float) -> str:
    return f"{MARK_PRINTED_AVG} The paper prints {header} {printed:.1f} for {row}; the mean of its printed {of} is {mean:.1f}."


def delta_note(compared: list[str], against_cells: list[tuple[str, str]] = ()) -> str:
    """The Δ rows; ``compared``: the headers of the averages they compare; ``against_cells``: (average
    header, paper row) whose printed average is not the mean of its cells, so that the Δ subtracts
    the mean of the paper's cells in the columns ours averages instead."""
    if not compared:
        return "\u0394 rows: ours minus the paper, per cell."
    averages = ", ".join(compared)
    text = f"\u0394 rows: ours minus the paper, per cell ({averages}: our average minus the paper's printed one"
    if against_cells:
        by_header: dict[str, list[str]] = {}
        for header, row in against_cells:
            by_header.setdefault(header, []).append(row)
        rows = "; ".join(f"{header} of {', '.join(names)}" for header, names in by_header.items())
        text += (
            f"; where the printed average is marked {MARK_PRINTED_AVG} ({rows}) it is not the mean of the paper's "
            "cells in the columns ours averages, so the \u0394 subtracts that mean instead"
        )
    return text + ")."


ORIENTATION_NOTE = (
    "Italic paper rows for orientation only: these cells are not on the paper's data, so there are no "
    "\u0394 rows (ours minus the paper) and no reproduction verdict."
)


def delta_column_note(header: str, column: str, over: str, paper_over: str | None) -> str:
    """The Δ column (config ``delta_column``): each row's ``column`` minus the ``over`` row's."""
    text = f"{header} column: each of our rows' {column} minus {over}'s"
    if paper_over:
        text += f", each of the paper's rows minus its {paper_over}"
    return text + "."


def verdict_note(outcome: str, settings) -> str:
    """The table's sentence on its reproduction verdict (``outcome``: verdict.verdict_summary)."""
    return (
        f"Reproduction verdict: {outcome} (paper's number inside our {settings.confidence:.0%} interval; "
        "see the verdict table)."
    )


def verdict_caption(caption: str, outcome: str, settings) -> str:
    """The verdict table's caption."""
    return (
        f"Reproduction verdict for {caption.rstrip('.')}: {outcome}. Interval: t over seeds when a cell has "
        f"at least {settings.min_seeds_for_t}, else bootstrap over test examples ({settings.resamples} resamples)."
    )


def paired_caption(caption: str, settings, metric: str) -> str:
    """The paired-tests table's caption; ``metric``: the compared metric, as captions name it."""
    return (
        f"Paired bootstrap tests for {caption.rstrip('.')}: difference in {metric} (%) and two-sided p-value over "
        f"{settings.resamples} resamples of the test examples (bold: p < {1 - settings.confidence:.2f})."
    )


def diagnostics_caption(paper: str, task: str, reporting: dict) -> str:
    """A paper's diagnostics table's caption, for one task."""
    return (
        f"Diagnostics of {paper}, {task}: share (%) of each cell's predictions that fell back to a default label, "
        "went unparsed or were truncated, mean over seeds; only counts that occur are listed. Bold: above the flag "
        f"threshold ({reporting.get('flag_share', 0.05):.0%}), marked {MARK_DEGENERATE} in the result tables."
    )


def _decimals(value: float) -> int:
    """Decimals of a number as the paper printed it (the shortest repr: 39.53 -> 2, 30.4 -> 1; a
    printed trailing zero is lost, 37.20 -> 1, which only widens the rounding interval)."""
    text = repr(float(value))
    return 0 if "e" in text else len(text.partition(".")[2].rstrip("0"))


def relative_improvement_note(
    spec: dict,
    ours: dict[str, tuple[str, dict[str, float]]],
    paper: dict[str, tuple[str, dict[str, float]]],
    headers: dict[str, str],
) -> str:
    """``Relative improvement on <column> over <row> (reported x): <row> +p% (a/x − 1); ...``.

    ``spec`` (config ``relative_improvement`` entry): ``column`` (a column or average key),
    ``over`` (a reported row name), ``rows`` (our row keys and/or reported row names) and optional
    ``stated`` (row -> the gain in % the paper states): shown beside ours, and said to be within
    the rounding of the printed numbers or not. ``ours`` (by row key) and ``paper`` (by reported
    row name): row -> (label, column key -> the value the table shows, unrounded)."""
    column, over = str(spec["column"]), str(spec["over"])
    where = "config key relative_improvement"
    if column not in headers:
        raise ValueError(f"{where}: column {column!r} is not a column of the table ({', '.join(headers)})")
    if over not in paper:
        raise ValueError(f"{where}: over {over!r} is not a reported row of the table ({', '.join(paper) or 'none'})")
    base = paper[over][1][column]
    if pd.isna(base) or base <= 0:
        raise ValueError(f"{where}: the reported {over!r} has no positive {headers[column]} to divide by")
    stated = {str(k): float(v) for k, v in (spec.get("stated") or {}).items()}
    parts = []
    for row in spec["rows"]:
        if row not in ours and row not in paper:
            raise ValueError(
                f"{where}: row {row!r} is neither one of our rows of the table ({', '.join(ours)}) nor a reported row"
            )
        name, row_values = ours[row] if row in ours else paper[row]
        value = row_values[column]
        if pd.isna(value):
            parts.append(f"{name} {MISSING} (no {headers[column]})")
            continue
        text = f"{name} {(value / base - 1) * 100:+.2f}% ({value:.2f}/{base:.2f} \u2212 1"
        if row in stated:
            # The interval the gain can take given the printed numbers' rounding (half a last digit).
            half_v, half_b = (0.5 * 10 ** -_decimals(v) for v in (value, base))
            low = ((value - half_v) / (base + half_b) - 1) * 100
            high = ((value + half_v) / (base - half_b) - 1) * 100
            within = "within" if low <= stated[row] <= high else "outside"
            text += (
                f"; the paper states {stated[row]:+.2f}%, {within} the rounding of the printed numbers "
                f"({low:+.2f}% to {high:+.2f}%)"
            )
        parts.append(text + ")")
    return f"Relative improvement on {headers[column]} over {over} (reported {base:.2f}): {'; '.join(parts)}."
