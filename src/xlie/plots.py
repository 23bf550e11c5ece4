"""Per-language bar charts of the primary metric."""

from __future__ import annotations

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
        ax.set_title(f"{title} - DEMO - tiny random-init models" if demo else title)
        ax.legend(fontsize="small")
        fig.tight_layout()
        for out in (out_png, out_pdf):
            Path(out).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out_png, dpi=150)
        # No CreationDate, so re-running the workflow yields identical PDFs.
        fig.savefig(out_pdf, metadata={"CreationDate": None})
    finally:
        plt.close(fig)
