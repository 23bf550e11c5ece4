"""Snakemake script: a method's variants x the table's columns, mean test score."""

from xlie.pipeline.runtime import log_to, script_start
from xlie.report.jobs import plot_heatmap

script_start(snakemake)
with log_to(snakemake.log[0]):
    plot_heatmap(snakemake.params.table, snakemake.input.metrics, **snakemake.wildcards, **snakemake.output)
