"""Per-language bar charts of a table's metric and a heatmap of a method's variants across the
table's columns; the panels, colours and legend that a paper's own plots share (registry hook
``table_plots``).

One hue per method and one shade of it per model, the task's floor baseline drawn per
language, display names on axes and legends; many languages are split into stacked panels
so a figure stays under ``MAX_WIDTH_IN`` inches wide.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from xlie.pipeline.runtime import atomic_path  # noqa: E402
from xlie.report.grid import cell_summary  # noqa: E402
from xlie.report.model import (  # noqa: E402
    SELECTION_VARIANTS,
    Layout,
    axis_label,
    column_header,
    column_keys,
    column_order,
    ordered_variants,
    row_label,
    variant_label,
)

MAX_WIDTH_IN = 10.0
BAR_IN = 0.09  # width of one bar
MARGIN_IN = 1.6  # axis labels and padding
DEMO_NOTE = "DEMO: tiny random-init models"
HATCH = "////"


@dataclass(frozen=True)
class PlotSettings:
    """What a table's figure says around its data, and where it goes: the table it draws (``paper``,
    ``table``), its title (with the demo note when ``demo``), display names, the metric's axis label
    (default: the primary metric's name), and its PNG and PDF paths."""

    paper: str
    table: str
    title: str
    out_png: str | Path
    out_pdf: str | Path
    demo: bool = False
    display: dict | None = None
    metric_label: str | None = None


def series_colours(methods: list, models: list[str]) -> dict[tuple, tuple]:
    """(method, model) -> colour: the method's tab10 hue, darker to lighter across models (a method
    may be a (method, variant) pair: each variant its own hue)."""
    colours = {}
    for i, method in enumerate(methods):
        base = np.array(mcolors.to_rgb(f"C{i % 10}"))
        for j, model in enumerate(models):
            # Mix with black (first model) ... white (last): shades a reader can tell apart.
            t = 0.0 if len(models) == 1 else -0.35 + 0.8 * j / (len(models) - 1)
            shade = base * (1 + t) if t < 0 else base + (1 - base) * t
            colours[(method, model)] = tuple(np.clip(shade, 0, 1))
    return colours


def panels_for(n_targets: int, n_series: int) -> int:
    """How many stacked panels keep each under MAX_WIDTH_IN."""
    per_language = BAR_IN * max(n_series, 1) + 0.12
    fits = max(1, int((MAX_WIDTH_IN - MARGIN_IN) // per_language))
    return math.ceil(n_targets / fits)


def _title(text: str, demo: bool, width_in: float) -> str:
    text = f"{text} ({DEMO_NOTE})" if demo else text
    return textwrap.fill(text, max(40, int(width_in * 11)))


def stacked_panels(n_targets: int, n_series: int):
    """(figure, axes column, languages per panel, width in inches) for stacked panels."""
    n_panels = panels_for(n_targets, n_series)
    per_panel = math.ceil(n_targets / n_panels)
    width = min(MAX_WIDTH_IN, max(6.0, MARGIN_IN + per_panel * (BAR_IN * max(n_series, 1) + 0.12)))
    fig, axes = plt.subplots(n_panels, 1, figsize=(width, 1.0 + 2.6 * n_panels), sharey=True, squeeze=False)
    return fig, axes[:, 0], per_panel, width


def finish_figure(
    fig, axes, xlabel: str, title: str, demo: bool, width: float, out_png, out_pdf, flagged: bool
) -> None:
    """Shared x label, one legend under the panels, the title, and both files."""
    axes[-1].set_xlabel(xlabel)
    handles, labels = axes[0].get_legend_handles_labels()
    # Plain swatches: a series' first bar may be hatched, which is no property of the series.
    handles = [Patch(facecolor=h.patches[0].get_facecolor()) if isinstance(h, BarContainer) else h for h in handles]
    if flagged:  # explain the hatching once
        handles.append(Patch(facecolor="white", edgecolor="0.3", hatch=HATCH))
        labels.append("flagged cell (table marks)")
    fig.legend(handles, labels, loc="outside lower center", ncol=min(4, len(labels)), fontsize="small", frameon=False)
    fig.suptitle(_title(title, demo, width), fontsize="medium")
    fig.set_layout_engine("constrained")
    _save(fig, out_png, out_pdf)


def _save(fig, out_png, out_pdf) -> None:
    # Atomic: the temporary name ends in .tmp, so the format is named.
    with atomic_path(out_png) as tmp:
        fig.savefig(tmp, format="png", dpi=150, bbox_inches="tight")
    # No CreationDate, so re-running the workflow yields identical PDFs.
    with atomic_path(out_pdf) as tmp:
        fig.savefig(tmp, format="pdf", metadata={"CreationDate": None}, bbox_inches="tight")


def plot_per_language(
    metrics: pd.DataFrame,
    settings: PlotSettings,
    *,
    model_order: list[str] | None = None,
    method_order: list[str] | None = None,
    flagged: dict[tuple[str, str, str, str, str], str] | None = None,
    layout: Layout = Layout(),
    variant_order: dict[str, list[str]] | None = None,
    baseline_label: str = "Baseline",
) -> None:
    """Grouped bars: x = the table's columns (target language, or pair with ``layout.columns: pair``),
    one bar per (method, variant, model); seed mean (%) +- seed std, the task's floor baseline
    (``baseline_label``) as a black tick across each column's bars. ``flagged``: (method, variant,
    model, source, target) cells to hatch."""
    summ = cell_summary(metrics, settings.paper, settings.table)
    summ["col"] = column_keys(layout, summ)
    targets = column_order(layout, summ["col"])  # the table's column order
    models = list(dict.fromkeys([*(model_order or []), *summ["model"]]))
    methods = list(dict.fromkeys([*(method_order or []), *summ["method"]]))
    hues = [
        (me, va)
        for me in methods
        for va in ordered_variants(me, summ.loc[summ["method"] == me, "variant"], variant_order)
    ]
    present = set(zip(summ["method"], summ["variant"], summ["model"]))
    series = [(me, va, mo) for mo in models for me, va in hues if (me, va, mo) in present]
    colours = series_colours(
        [h for h in hues if any(h == s[:2] for s in series)], [m for m in models if any(m == s[2] for s in series)]
    )
    cells = {
        (me, va, mo, c): (str(s), str(t))
        for me, va, mo, c, s, t in zip(
            summ["method"], summ["variant"], summ["model"], summ["col"], summ["source"], summ["target"]
        )
    }
    fig, axes, per_panel, width = stacked_panels(len(targets), len(series))
    bar = 0.8 / len(series)
    metric = settings.metric_label or str(metrics.loc[metrics["primary"].astype(bool), "metric"].iloc[0])
    flagged = flagged or {}
    try:
        for p, ax in enumerate(axes):
            chunk = targets[p * per_panel : (p + 1) * per_panel]
            x = np.arange(len(chunk))
            for i, (method, variant, model) in enumerate(series):
                rows = (summ["method"] == method) & (summ["variant"] == variant) & (summ["model"] == model)
                s = summ[rows].set_index("col").reindex(chunk)
                err = s["std"].where(s["n"] >= 2)  # error bars only where there are >=2 seeds
                bars = ax.bar(
                    x + (i - (len(series) - 1) / 2) * bar,
                    s["mean"].to_numpy(dtype=float),
                    bar,
                    yerr=None if err.isna().all() else err.to_numpy(dtype=float),
                    capsize=1.5,
                    color=colours[((method, variant), model)],
                    edgecolor="white",
                    linewidth=0.3,
                    label=row_label(settings.display, method, model, variant),
                )
                for rect, col in zip(bars, chunk):
                    if (method, variant, model, col) in cells and (
                        method,
                        variant,
                        model,
                        *cells[(method, variant, model, col)],
                    ) in flagged:
                        rect.set_hatch(HATCH)
            if "baseline" in summ:
                base = summ.groupby("col")["baseline"].mean().reindex(chunk).to_numpy(dtype=float)
                ax.hlines(base, x - 0.45, x + 0.45, colors="black", linewidth=1.4, label=baseline_label, zorder=3)
            ax.set_xticks(x, [column_header(layout, c) for c in chunk])
            ax.set_ylim(bottom=0)  # scores are never negative; an all-zero panel stays 0-based
            ax.set_xlim(-0.6, len(chunk) - 0.4)
            ax.set_ylabel(metric)
            ax.grid(axis="y", linewidth=0.3, alpha=0.6)
            ax.set_axisbelow(True)
        xlabel = axis_label(layout)
        shown = set(
            zip(summ["method"], summ["variant"], summ["model"], summ["source"].astype(str), summ["target"].astype(str))
        )
        hatched = bool(set(flagged) & shown)
        finish_figure(
            fig, axes, xlabel, settings.title, settings.demo, width, settings.out_png, settings.out_pdf, hatched
        )
    finally:
        plt.close(fig)


HEATMAP_CMAP = "cividis"  # perceptually uniform and readable with colour-vision deficiencies


def plot_variant_heatmap(
    metrics: pd.DataFrame,
    settings: PlotSettings,
    *,
    method: str,
    layout: Layout = Layout(columns="pair"),
    variant_order: list[str] | None = None,
    model_order: list[str] | None = None,
    flagged: dict[tuple[str, str, str, str, str], str] | None = None,
) -> pd.DataFrame:
    """Rows = the method's variants (templates), columns = the table's columns (source-target
    pairs), cells = mean test score (%) over seeds, each annotated; one panel per model, one colour
    scale for all. Flagged cells carry the table's marks after the number. Returns the plotted
    means (model, variant, column, mean)."""
    paper, table, display = settings.paper, settings.table, settings.display
    summ = cell_summary(metrics, paper, table)
    summ = summ[(summ["method"] == method) & ~summ["variant"].isin(SELECTION_VARIANTS)].copy()
    if summ.empty:
        raise ValueError(f"{paper}/{table}: no rows of method {method!r} to draw a heatmap of")
    summ["col"] = column_keys(layout, summ)
    cols = column_order(layout, summ["col"])
    listed = [str(v) for v in variant_order or []]
    variants = [v for v in listed if v in set(summ["variant"])] + [
        v for v in dict.fromkeys(summ["variant"]) if v not in listed
    ]
    models = [m for m in dict.fromkeys([*(model_order or []), *summ["model"]]) if m in set(summ["model"])]
    flagged = flagged or {}
    lo, hi = float(summ["mean"].min()), float(summ["mean"].max())
    norm = mcolors.Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1)
    cmap = plt.get_cmap(HEATMAP_CMAP)
    width = min(MAX_WIDTH_IN, max(5.0, 2.2 + 0.75 * len(cols)))
    height_each = 0.6 + 0.36 * len(variants)
    fig, axes = plt.subplots(len(models), 1, figsize=(width, 0.9 + height_each * len(models)), squeeze=False)
    plotted = []
    try:
        for ax, model in zip(axes[:, 0], models):
            part = summ[summ["model"] == model]
            grid = part.pivot_table(index="variant", columns="col", values="mean", sort=False).reindex(
                index=variants, columns=cols
            )
            image = ax.imshow(grid.to_numpy(dtype=float), cmap=cmap, norm=norm, aspect="auto")
            # The tables' own marks (dagger: fallbacks above the threshold; double dagger: not above the floor baseline).
            marks = {
                (str(v), c): flagged[(method, str(v), model, str(s), str(t))]
                for v, c, s, t in zip(part["variant"], part["col"], part["source"], part["target"])
                if (method, str(v), model, str(s), str(t)) in flagged
            }
            for i, variant in enumerate(variants):
                for j, col in enumerate(cols):
                    value = grid.iat[i, j]
                    if pd.isna(value):
                        ax.text(j, i, "--", ha="center", va="center", fontsize="small", color="0.4")
                        continue
                    red, green, blue, _ = cmap(norm(value))
                    ink = "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 0.5 else "white"
                    ax.text(
                        j,
                        i,
                        f"{value:.1f}{marks.get((variant, col), '')}",
                        ha="center",
                        va="center",
                        fontsize="small",
                        color=ink,
                    )
                    plotted.append({"model": model, "variant": variant, "column": col, "mean": float(value)})
            ax.set_xticks(range(len(cols)), [column_header(layout, c) for c in cols])
            ax.set_yticks(range(len(variants)), [variant_label(display, method, v) for v in variants])
            ax.tick_params(length=0)
            if len(models) > 1:
                ax.set_title(((display or {}).get("models") or {}).get(model, model), fontsize="small")
            fig.colorbar(image, ax=ax, shrink=0.9, pad=0.02, fraction=0.04).set_label(
                textwrap.fill(settings.metric_label or "score (%)", 28), fontsize="small"
            )
        axes[-1, 0].set_xlabel(axis_label(layout))
        fig.suptitle(_title(settings.title, settings.demo, width), fontsize="medium")
        fig.set_layout_engine("constrained")
        _save(fig, settings.out_png, settings.out_pdf)
    finally:
        plt.close(fig)
    return pd.DataFrame(plotted, columns=["model", "variant", "column", "mean"])
