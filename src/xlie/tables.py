"""LaTeX result tables built from the tidy metrics frame.

Input columns: paper, table, task, model, method, source, target, seed, metric,
value, primary. Only primary rows (the task's headline metric) are tabulated.
"""

from __future__ import annotations

import functools
import math
import re
from pathlib import Path

import jinja2
import pandas as pd

DEMO_PREFIX = "DEMO (tiny random-init models on small samples; not comparable to the papers):"
MISSING = "--"
PLUS_MINUS = "\u00b1"  # kept renderer-neutral in table_frame; latex_escape turns it into $\pm$
CORNER = "Method / model"

_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    PLUS_MINUS: r"$\pm$",
    **{c: "\\" + c for c in "&%$#_{}"},
}
# One pass over the text, so the braces introduced by \textbackslash{} are never re-escaped.
_LATEX_RE = re.compile("|".join(re.escape(c) for c in _LATEX_SPECIALS))
_BAD_LABEL = re.compile(r"[\\{}%#&~^$\s]")


def latex_escape(text: str) -> str:
    """Escape the LaTeX specials ``\\ & % $ # _ { } ~ ^`` (and ``±`` -> ``$\\pm$``)."""
    return _LATEX_RE.sub(lambda m: _LATEX_SPECIALS[m.group(0)], str(text))


@functools.cache
def latex_environment() -> jinja2.Environment:
    """The single Jinja2 environment for LaTeX templates (built once)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("xlie", "templates"),
        block_start_string=r"\BLOCK{",
        block_end_string="}",
        variable_start_string=r"\VAR{",
        variable_end_string="}",
        comment_start_string=r"\#{",
        comment_end_string="}",
        line_statement_prefix="%%",
        line_comment_prefix="%#",
        trim_blocks=True,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["latex_escape"] = latex_escape
    return env


def _primary_rows(metrics: pd.DataFrame, paper: str, table: str) -> pd.DataFrame:
    sel = metrics[
        (metrics["paper"] == paper) & (metrics["table"] == table) & metrics["primary"].astype(bool)
    ]
    if sel.empty:
        raise ValueError(f"no primary metric rows for paper={paper!r} table={table!r}")
    # Two primary rows for one cell and seed (another metric or source) would be silently averaged.
    dup = sel.duplicated(["method", "model", "target", "seed"], keep=False)
    if dup.any():
        raise ValueError(
            f"{paper}/{table}: several primary rows per (method, model, target, seed):\n"
            + sel.loc[dup, ["method", "model", "source", "target", "seed", "metric"]].to_string()
        )
    return sel


def seed_summary(metrics: pd.DataFrame, paper: str, table: str) -> pd.DataFrame:
    """Per (method, model, target) seed statistics of the primary metric, on the x100 scale.

    Columns: method, model, target, mean, std (sample, ddof=1; NaN for one seed), n.
    Rows are in first-appearance order.
    """
    sel = _primary_rows(metrics, paper, table)
    scaled = sel.assign(value=sel["value"].astype(float) * 100)
    out = (
        scaled.groupby(["method", "model", "target"], sort=False)["value"]
        .agg(mean="mean", std=lambda v: v.std(ddof=1), n="count")
        .reset_index()
    )
    return out


def _fmt(mean: float, std: float = math.nan, n: int = 1) -> str:
    if pd.isna(mean):
        return MISSING
    if n >= 2 and not pd.isna(std):
        return f"{mean:.1f}{PLUS_MINUS}{std:.1f}"
    return f"{mean:.1f}"


def _avg(values: pd.Series) -> float:
    # Any missing language makes the average undefined rather than silently partial.
    return math.nan if values.empty or values.isna().any() else float(values.mean())


def _format_block(means: pd.DataFrame, cells: pd.DataFrame, groups: dict[str, list[str]]) -> pd.DataFrame:
    """Append Avg / group-average columns (recomputed from the per-language means) to `cells`."""
    out = cells.copy()
    out["Avg"] = [_fmt(_avg(means.loc[r])) for r in means.index]
    for name, targets in groups.items():
        out[f"Avg {name}"] = [_fmt(_avg(means.loc[r, targets])) for r in means.index]
    return out


def table_frame(
    metrics: pd.DataFrame,
    *,
    paper: str,
    table: str,
    reference: pd.DataFrame | None = None,
    groups: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The formatted strings shown in the table (index = row headers, columns = headers).

    Cells use a Unicode plus-minus (``12.3±0.4``); latex_escape renders it as ``$\\pm$``.
    ``frame.attrs["n_reference"]`` counts the trailing reference rows.
    """
    summ = seed_summary(metrics, paper, table)
    summ["row"] = summ["method"].astype(str) + " / " + summ["model"].astype(str)
    rows = list(dict.fromkeys(summ["row"]))
    targets = list(dict.fromkeys(summ["target"]))

    # Group name -> its targets present in this table, groups in mapping order.
    group_targets: dict[str, list[str]] = {}
    for tgt, name in (groups or {}).items():
        if tgt in targets:
            group_targets.setdefault(name, []).append(tgt)

    def grid(col: str) -> pd.DataFrame:
        return summ.pivot(index="row", columns="target", values=col).reindex(index=rows, columns=targets)

    means, stds, ns = grid("mean"), grid("std"), grid("n")
    cells = pd.DataFrame(
        [[_fmt(means.at[r, t], stds.at[r, t], ns.at[r, t]) for t in targets] for r in rows],
        index=rows,
        columns=targets,
    )
    frame = _format_block(means, cells, group_targets)

    n_ref = 0
    if reference is not None:
        ref = reference[reference["target"].isin(targets)]
        if ref.duplicated(["row", "target"]).any():
            raise ValueError(f"{paper}/{table}: duplicate (row, target) in reference values")
        ref_rows = list(dict.fromkeys(reference["row"]))
        ref_means = (
            ref.pivot(index="row", columns="target", values="value")
            .reindex(index=ref_rows, columns=targets)
            .astype(float)
        )
        ref_cells = ref_means.map(_fmt)
        frame = pd.concat([frame, _format_block(ref_means, ref_cells, group_targets)])
        n_ref = len(ref_rows)
    frame.index.name = None
    frame.columns.name = None
    frame.attrs["n_reference"] = n_ref
    return frame


def render_table(
    metrics: pd.DataFrame,
    *,
    paper: str,
    table: str,
    caption: str,
    label: str,
    reference: pd.DataFrame | None = None,
    groups: dict[str, str] | None = None,
    demo: bool = False,
) -> str:
    """A booktabs ``table`` float (tabular inside \\resizebox) for one paper table."""
    if _BAD_LABEL.search(label):
        raise ValueError(f"label {label!r} must not contain spaces or LaTeX specials")
    frame = table_frame(metrics, paper=paper, table=table, reference=reference, groups=groups)
    n_main = len(frame) - frame.attrs["n_reference"]
    as_rows = [{"header": h, "cells": list(r)} for h, r in zip(frame.index, frame.itertuples(index=False))]

    text = caption.strip()
    if demo:
        text = f"{DEMO_PREFIX} {text}"
    if reference is not None:
        notes = []
        if "source_note" in reference.columns:
            notes = list(dict.fromkeys(str(n).strip() for n in reference["source_note"].dropna() if str(n).strip()))
        note = "; ".join(notes) or "reference values"
        if text and not text.endswith((".", "!", "?")):
            text += "."
        text = f"{text} Italic rows: {note}" + ("" if note.endswith(".") else ".")

    return latex_environment().get_template("results_table.tex.j2").render(
        caption=text,
        label=label,
        colspec="l" + "r" * len(frame.columns),
        corner=CORNER,
        columns=list(frame.columns),
        rows=as_rows[:n_main],
        reference_rows=as_rows[n_main:],
    )


def write_latex_document(fragments: list[str], path) -> Path:
    """Write a minimal compilable article holding the table fragments."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "\n\n".join(f.strip() for f in fragments)
    path.write_text(
        "\\documentclass{article}\n"
        "\\usepackage[T1]{fontenc}\n"
        "\\usepackage{booktabs,graphicx}\n"
        "\\begin{document}\n\n"
        f"{body}\n\n"
        "\\end{document}\n",
        encoding="utf-8",
    )
    return path
