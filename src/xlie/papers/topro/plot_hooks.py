"""ToPro's plot hook (registry hook ``table_plots``), apart from the plotting code: the workflow asks it
which plots a table gets every time it builds the DAG, so it imports no plotting library."""

from __future__ import annotations

METHOD, BASELINE = "topro", "vanilla"
GAIN_CAPTION = (
    "ToPro's gain over Vanilla (ToPro minus Vanilla, x100, seed means) per target language, one bar per "
    "model; languages are ordered and shaded by group (Indo-European vs. other families, after Glottolog), "
    "our stand-in for the paper's typological distance to English. The gains are also in the ``_gain.csv`` "
    "beside the plot."
)


def table_plots(paper: str, table: dict) -> list[dict]:
    """The registry hook ``table_plots``: the gain plot for a table with both ToPro and Vanilla rows."""
    if not {METHOD, BASELINE} <= set(table["methods"]):
        return []
    return [{"suffix": "gain", "function": "xlie.papers.topro.plots:plot_gain", "caption": GAIN_CAPTION}]
