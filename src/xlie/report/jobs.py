"""The report stage's jobs, as plain functions of paths and options: metrics CSVs, tables (LaTeX and
HTML), diagnostics and plots.

Each Snakemake script unpacks its ``snakemake`` object and calls one of these with the job's params
(``compose.table_options``), so every job can be run and tested without Snakemake. A table's jobs take
the table's wildcards (``paper``, ``table``) and their output files by the names their rules give them
(workflow/rules/aggregate.smk), so a script passes ``**snakemake.wildcards, **snakemake.output``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from xlie.pipeline.runtime import atomic_write_text
from xlie.report import collect, compose, notes
from xlie.report.flags import diagnostics_grids, flagged_cells
from xlie.report.model import Layout, select_pairs, with_variant
from xlie.report.render import caption_with_notes, html_page, render_grid_html, render_grid_latex

if TYPE_CHECKING:  # the plots import matplotlib: only the plot jobs load them
    from xlie.report.plots import PlotSettings


def collect_table_metrics(cells: list[dict], runs_root: str, *, metric: str | None, out_csv: str) -> None:
    """One table's cells' metrics.json into a tidy CSV (see collect.collect_table_metrics)."""
    frame = collect.collect_table_metrics(cells, runs_root, metric, out_csv)
    print(f"{len(cells)} cells, {len(frame)} metric rows")


def collect_metrics(table_csvs: list[str], out_csv: str) -> None:
    """Every table's metrics in one CSV, one row per (cell, metric)."""
    frame = collect.merge_metrics(table_csvs, out_csv)
    print(f"{len(frame)} rows, {frame.groupby(collect.CELL_KEYS).ngroups} distinct cells")


def render_table(options: dict, metrics_csv: str, *, paper: str, table: str, tex: str, html: str) -> None:
    """One table (and its verdict and paired-test companions) in LaTeX and HTML; the verdict's rows
    beside the LaTeX (``<table>.verdict.csv``) when the table has one."""
    composed = compose.compose_table(options, metrics_csv, paper=paper, table=table)
    if composed.verdicts is not None:
        atomic_write_text(Path(tex).with_suffix(".verdict.csv"), composed.verdicts.to_csv(index=False))
    latex = [render_grid_latex(f.grid, caption=f.caption, label=f.label, layout=f.layout) for f in composed.floats]
    pages = [render_grid_html(f.grid, caption=f.caption, layout=f.layout) for f in composed.floats]
    atomic_write_text(tex, "\n\n".join(latex) + "\n")
    atomic_write_text(html, html_page(f"{paper} {table}", pages))


def render_diagnostics(options: dict, metrics_csvs: list[str], *, paper: str, out_tex: str, out_html: str) -> None:
    """Per paper and task: the share of fallback / unparsed / truncated predictions per cell."""
    reporting = options.get("reporting", {})
    grids = diagnostics_grids([pd.read_csv(p) for p in metrics_csvs], reporting, options.get("display", {}))
    tex, html = [], []
    for task, grid in grids.items():
        caption = caption_with_notes(notes.diagnostics_caption(paper, task, reporting), [], options["demo"])
        label = f"tab:{paper}-{task}-diagnostics"
        tex.append(render_grid_latex(grid, caption=caption, label=label, layout=Layout(orientation="columns")))
        html.append(render_grid_html(grid, caption=caption))
    atomic_write_text(out_tex, "\n\n".join(tex) + "\n")
    atomic_write_text(out_html, html_page(f"{paper} diagnostics", html))


def _plot_settings(
    options: dict, frame: pd.DataFrame, paper: str, table: str, png: str, pdf: str, title_prefix: str = ""
) -> PlotSettings:
    """A table plot's settings: its title is the table's short title after ``title_prefix``."""
    from xlie.report.plots import PlotSettings

    return PlotSettings(
        paper,
        table,
        title_prefix + compose.short_title(options, paper, table),
        png,
        pdf,
        demo=options["demo"],
        display=options.get("display", {}),
        metric_label=compose.metric_label(options, frame),
    )


def plot_table(options: dict, metrics_csv: str, *, paper: str, table: str, png: str, pdf: str) -> None:
    """A table's headline metric per column, one bar per row, the task's floor baseline drawn."""
    from xlie.report.plots import plot_per_language

    table_cfg = options["table"]
    frame, _, _ = compose.table_rows(options, metrics_csv)
    Path(png).parent.mkdir(parents=True, exist_ok=True)
    plot_per_language(
        frame,
        _plot_settings(options, frame, paper, table, png, pdf),
        model_order=table_cfg["models"],
        method_order=table_cfg["methods"],
        flagged=flagged_cells(frame, options.get("reporting", {})),
        layout=Layout.from_config(table_cfg.get("layout")),
        variant_order=table_cfg.get("variants"),
        baseline_label=compose.baseline_description({table_cfg["task"]})[0],
    )


def plot_heatmap(options: dict, metrics_csv: str, *, paper: str, table: str, png: str, pdf: str) -> None:
    """A table's method variants x its columns, mean test score per cell (``heatmap: true``)."""
    from xlie.report.plots import plot_variant_heatmap

    table_cfg = options["table"]
    if not table_cfg.get("variants"):
        raise ValueError(
            f"papers.{paper}.tables.{table}.heatmap needs papers.{paper}.tables.{table}.variants "
            "(the method whose variants are the heatmap's rows)"
        )
    method = next(iter(table_cfg["variants"]))
    frame = select_pairs(with_variant(pd.read_csv(metrics_csv)), table_cfg.get("pairs", "all"))
    method_name = options.get("display", {}).get("methods", {}).get(method, method)
    means = plot_variant_heatmap(
        frame,
        _plot_settings(options, frame, paper, table, png, pdf, title_prefix=f"{method_name} variants: "),
        method=method,
        layout=Layout.from_config(table_cfg.get("layout")),
        variant_order=table_cfg["variants"][method],
        model_order=table_cfg["models"],
        flagged=flagged_cells(frame, options.get("reporting", {})),
    )
    print(means.pivot_table(index="variant", columns="column", values="mean", sort=False).round(1).to_string())


def plot_extra(
    options: dict, plot: dict, metrics_csv: str, *, paper: str, table: str, png: str, pdf: str, data: str
) -> None:
    """A plot a paper asks for (registry hook ``table_plots``): its ``function`` ("module:attr") makes
    the figure (``png``, ``pdf``) and the CSV of what it plots (``data``)."""
    from xlie.pipeline.registry import resolve

    Path(png).parent.mkdir(parents=True, exist_ok=True)
    resolve(plot["function"])(options, metrics_csv, paper=paper, table=table, out_png=png, out_pdf=pdf, out_csv=data)
