"""Snakemake script: one table's cells' metrics.json into a tidy CSV."""

from xlie.pipeline.runtime import log_to, script_start
from xlie.report.jobs import collect_table_metrics

script_start(snakemake)
with log_to(snakemake.log[0]):
    collect_table_metrics(
        snakemake.params.cells,
        "results/runs",
        metric=snakemake.params.metric,
        out_csv=snakemake.output[0],
    )
