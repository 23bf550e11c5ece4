"""Snakemake script: a method's variants (templates) x the table's columns, mean test score."""

from xlie.pipeline.runtime import log_to
from xlie.pipeline.jobs import plot_heatmap

with log_to(snakemake.log[0]):
    plot_heatmap(
        snakemake.config,
        snakemake.input.metrics,
        paper=snakemake.wildcards.paper,
        table=snakemake.wildcards.table,
        out_png=snakemake.output.png,
        out_pdf=snakemake.output.pdf,
    )
