"""Snakemake script: bar chart of one table's headline metric per language."""

from xlie.pipeline.runtime import log_to
from xlie.pipeline.jobs import plot_table

with log_to(snakemake.log[0]):
    plot_table(
        snakemake.config,
        snakemake.input.metrics,
        paper=snakemake.wildcards.paper,
        table=snakemake.wildcards.table,
        out_png=snakemake.output.png,
        out_pdf=snakemake.output.pdf,
    )
