"""Snakemake script: write the resolved config beside the results."""

from xlie.pipeline.runtime import log_to
from xlie.pipeline.jobs import save_resolved_config

with log_to(snakemake.log[0]):
    save_resolved_config(snakemake.config, snakemake.output[0])
