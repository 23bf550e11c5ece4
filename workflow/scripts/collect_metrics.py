"""Snakemake script: gather every cell's metrics.json into one tidy CSV."""

import pandas as pd

from xlie.runtime import log_to
from xlie.steps import collect_metrics

with log_to(snakemake.log[0]):
    cells = pd.read_csv(snakemake.input.cells, sep="\t")
    collect_metrics(cells, "results/runs", snakemake.output[0])
