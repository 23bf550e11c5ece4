"""Snakemake script: one table's cells' metrics.json into a tidy CSV."""

from xlie.runtime import log_to
from xlie.steps import collect_table_metrics

with log_to(snakemake.log[0]):
    collect_table_metrics(
        snakemake.config,
        snakemake.params.cells,
        "results/runs",
        paper=snakemake.wildcards.paper,
        table=snakemake.wildcards.table,
        out_csv=snakemake.output[0],
    )
