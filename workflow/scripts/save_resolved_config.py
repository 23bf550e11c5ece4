"""Snakemake script: write the resolved config beside the results."""

from xlie.runtime import log_to
from xlie.steps import save_resolved_config

with log_to(snakemake.log[0]):
    save_resolved_config(snakemake.config, snakemake.output[0])
