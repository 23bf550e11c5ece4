"""Snakemake script: bar chart of one table's headline metric per language."""

from xlie.pipeline.runtime import log_to, script_start
from xlie.report.jobs import plot_table

script_start(snakemake)
with log_to(snakemake.log[0]):
    plot_table(snakemake.params.table, snakemake.input.metrics, **snakemake.wildcards, **snakemake.output)
