"""ToPro's own plot (registry hook ``table_plots``): ToPro's gain over Vanilla per target language,
languages grouped by family, our stand-in for the paper's typological distance to English.
A table whose methods include both gets ``results/plots/<paper>_<table>_gain.{png,pdf,csv}``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from xlie.papers.topro.plot_hooks import BASELINE, METHOD
from xlie.pipeline.runtime import atomic_path
from xlie.report.compose import family_groups, short_title
from xlie.report.flags import flagged_cells
from xlie.report.grid import cell_summary
from xlie.report.plots import HATCH, finish_figure, plt, series_colours, stacked_panels


def plot_gain(options: dict, metrics_csv: str, *, paper: str, table: str, out_png: str, out_pdf: str, out_csv: str):
    """ToPro's gain over Vanilla per language, against the language's family group; the gains in ``out_csv``."""
    frame = pd.read_csv(metrics_csv)
    flagged = flagged_cells(frame, options.get("reporting", {}))
    gains = plot_gain_by_group(
        frame,
        paper=paper,
        table=table,
        method=METHOD,
        baseline=BASELINE,
        groups=family_groups(frame),
        title=f"ToPro minus Vanilla: {short_title(options, paper, table)}",
        out_png=out_png,
        out_pdf=out_pdf,
        demo=options["demo"],
        display=options.get("display", {}),
        flagged={(me, mo, t) for me, _, mo, _, t in flagged},
    )
    with atomic_path(out_csv) as tmp:
        gains.to_csv(tmp, index=False)
    print(gains.groupby(["model", "group"])["gain"].mean().to_string())


def plot_gain_by_group(
    metrics: pd.DataFrame,
    *,
    paper: str,
    table: str,
    method: str,
    baseline: str,
    groups: dict[str, str],
    title: str,
    out_png,
    out_pdf,
    demo: bool = False,
    display: dict | None = None,
    flagged: set[tuple[str, str, str]] | None = None,
) -> pd.DataFrame:
    """Bars of ``method`` minus ``baseline`` (seed means, %) per language, languages ordered by group
    with grey bands (never a bar colour) behind each group. Returns the gains it plotted (model,
    target, group, gain)."""
    summ = cell_summary(metrics, paper, table)
    means = summ.pivot_table(index=["model", "target"], columns="method", values="mean", sort=False)
    if method not in means or baseline not in means:
        raise ValueError(f"{paper}/{table}: needs both {method!r} and {baseline!r} rows to plot a gain")
    gains = (means[method] - means[baseline]).rename("gain").reset_index()
    gains["group"] = gains["target"].map(groups)
    group_order = list(dict.fromkeys(groups[t] for t in groups))
    targets = sorted(
        dict.fromkeys(gains["target"]), key=lambda t: (group_order.index(groups[t]), list(groups).index(t))
    )
    models = list(dict.fromkeys(gains["model"]))
    names = display or {}
    colours = series_colours([method], models)
    fig, axes, per_panel, width = stacked_panels(len(targets), len(models))
    bar = 0.8 / len(models)
    flagged = flagged or set()
    hatched = False
    try:
        for p, ax in enumerate(axes):
            chunk = targets[p * per_panel : (p + 1) * per_panel]
            x = np.arange(len(chunk))
            start = 0
            for k, group in enumerate(group_order):
                span = [t for t in chunk if groups[t] == group]
                if span:
                    ax.axvspan(
                        start - 0.5, start + len(span) - 0.5, color="0.55" if k % 2 else "0.85", alpha=0.35, lw=0
                    )
                    ax.text(
                        start + (len(span) - 1) / 2,
                        1.0,
                        group,
                        transform=ax.get_xaxis_transform(),
                        ha="center",
                        va="bottom",
                        fontsize="small",
                        color="0.25",
                    )
                    start += len(span)
            for i, model in enumerate(models):
                g = gains[gains["model"] == model].set_index("target").reindex(chunk)
                bars = ax.bar(
                    x + (i - (len(models) - 1) / 2) * bar,
                    g["gain"].to_numpy(dtype=float),
                    bar,
                    color=colours[(method, model)],
                    label=names.get("models", {}).get(model, model),
                )
                for rect, target in zip(bars, chunk):  # a gain from or to a flagged cell measures nothing
                    if {(method, model, target), (baseline, model, target)} & flagged:
                        rect.set_hatch(HATCH)
                        hatched = True
            ax.axhline(0, color="black", linewidth=0.8)
            ax.set_xticks(x, chunk)
            ax.set_xlim(-0.5, len(chunk) - 0.5)
            method_name = names.get("methods", {}).get(method, method)
            base_name = names.get("methods", {}).get(baseline, baseline)
            ax.set_ylabel(f"{method_name} \u2212 {base_name} (points)")
        finish_figure(
            fig, axes, "target language (grouped by family, Glottolog)", title, demo, width, out_png, out_pdf, hatched
        )
    finally:
        plt.close(fig)
    return gains
