"""Snakemake script: render one table to LaTeX and HTML."""

from xlie.pipeline.runtime import log_to, script_start
from xlie.report.jobs import render_table

script_start(snakemake)
with log_to(snakemake.log[0]):
    render_table(snakemake.params.table, snakemake.input.metrics, **snakemake.wildcards, **snakemake.output)
