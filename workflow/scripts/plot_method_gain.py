"""Snakemake script: ToPro minus Vanilla per language, grouped by language family."""

from xlie.pipeline.runtime import log_to
from xlie.pipeline.jobs import plot_gain

with log_to(snakemake.log[0]):
    plot_gain(
        snakemake.config,
        snakemake.input.metrics,
        paper=snakemake.wildcards.paper,
        table=snakemake.wildcards.table,
        out_png=snakemake.output.png,
        out_pdf=snakemake.output.pdf,
        out_csv=snakemake.output.gains,
    )
