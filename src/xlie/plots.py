"""Per-language bar charts of the primary metric."""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from xlie.tables import _primary_rows, seed_summary  # noqa: E402


def plot_per_language(
    metrics: pd.DataFrame,
    *,
    paper: str,
    table: str,
    title: str,
    out_png,
    out_pdf,
    demo: bool = False,
) -> None:
    """Grouped bars: x = target language, one bar per (method, model); seed mean x100 +- seed std."""
    summ = seed_summary(metrics, paper, table)
    metric_names = list(dict.fromkeys(_primary_rows(metrics, paper, table)["metric"].astype(str)))
    targets = list(dict.fromkeys(summ["target"]))
    series = list(dict.fromkeys(zip(summ["method"], summ["model"])))
    x = np.arange(len(targets))
    width = 0.8 / len(series)

    fig, ax = plt.subplots(figsize=(max(6.0, 0.3 * len(targets) * max(1, len(series)) ** 0.5 + 2), 4))
    try:
        for i, (method, model) in enumerate(series):
            s = summ[(summ["method"] == method) & (summ["model"] == model)].set_index("target").reindex(targets)
            # Error bars only where there are >=2 seeds (NaN draws no bar and no cap).
            err = s["std"].where(s["n"] >= 2)
            ax.bar(
                x + (i - (len(series) - 1) / 2) * width,
                s["mean"].to_numpy(dtype=float),
                width,
                yerr=None if err.isna().all() else err.to_numpy(dtype=float),
                capsize=2 if len(targets) <= 20 else 0,
                label=f"{method} / {model}",
            )
        ax.set_xticks(x, [str(t) for t in targets], rotation=90 if len(targets) > 12 else 0)
        ax.set_xlabel("target language")
        ax.set_ylabel(f"{' / '.join(metric_names)} (x100)")
        ax.set_title(textwrap.fill(f"{title} - DEMO - tiny random-init models" if demo else title, 80), fontsize="medium")
        ax.legend(fontsize="small")
        fig.tight_layout()
        for out in (out_png, out_pdf):
            Path(out).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out_png, dpi=150)
        # No CreationDate, so re-running the workflow yields identical PDFs.
        fig.savefig(out_pdf, metadata={"CreationDate": None})
    finally:
        plt.close(fig)


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
) -> pd.DataFrame:
    """Bars of ``method`` minus ``baseline`` (seed means x100) per language, languages ordered and
    shaded by group (ToPro: gain over Vanilla against typological distance to English).
    Returns the gains it plotted (model, target, group, gain)."""
    summ = seed_summary(metrics, paper, table)
    means = summ.pivot_table(index=["model", "target"], columns="method", values="mean", sort=False)
    if method not in means or baseline not in means:
        raise ValueError(f"{paper}/{table}: needs both {method!r} and {baseline!r} rows to plot a gain")
    gains = (means[method] - means[baseline]).rename("gain").reset_index()
    gains["group"] = gains["target"].map(groups)
    group_order = list(dict.fromkeys(groups[t] for t in groups))
    targets = sorted(dict.fromkeys(gains["target"]), key=lambda t: (group_order.index(groups[t]), list(groups).index(t)))
    models = list(dict.fromkeys(gains["model"]))
    x = np.arange(len(targets))
    width = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.3 * len(targets) + 2), 4))
    try:
        start = 0
        for k, group in enumerate(group_order):  # shade each group's span
            span = [t for t in targets if groups[t] == group]
            if span:
                ax.axvspan(start - 0.5, start + len(span) - 0.5, color=f"C{k}", alpha=0.08, label=group)
                start += len(span)
        for i, model in enumerate(models):
            g = gains[gains["model"] == model].set_index("target").reindex(targets)
            ax.bar(x + (i - (len(models) - 1) / 2) * width, g["gain"].to_numpy(dtype=float), width, label=model)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(x, targets, rotation=90 if len(targets) > 12 else 0)
        ax.set_xlabel("target language (grouped by family)")
        ax.set_ylabel(f"{method} - {baseline} (x100)")
        ax.set_title(textwrap.fill(f"{title} - DEMO - tiny random-init models" if demo else title, 80), fontsize="medium")
        ax.legend(fontsize="small")
        fig.tight_layout()
        fig.savefig(out_png, dpi=150)
        fig.savefig(out_pdf, metadata={"CreationDate": None})
    finally:
        plt.close(fig)
    return gains
