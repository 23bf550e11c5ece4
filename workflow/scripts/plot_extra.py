"""Snakemake script: a plot a paper asks for one of its tables (registry hook table_plots)."""

from xlie.pipeline.runtime import log_to, script_start
from xlie.report.jobs import plot_extra

script_start(snakemake)
with log_to(snakemake.log[0]):
    plot_extra(
        snakemake.params.table,
        snakemake.params.plot,
        snakemake.input.metrics,
        paper=snakemake.wildcards.paper,  # its suffix chose params.plot
        table=snakemake.wildcards.table,
        **snakemake.output,
    )
