"""Snakemake script: every table's metrics into one CSV (one row per cell and metric)."""

from xlie.pipeline.runtime import log_to, script_start
from xlie.report.jobs import collect_metrics

script_start(snakemake)
with log_to(snakemake.log[0]):
    collect_metrics(list(snakemake.input), snakemake.output[0])
