"""Snakemake script: write the resolved config beside the results."""

from xlie.pipeline.runtime import log_to, script_start
from xlie.pipeline.jobs import save_resolved_config

script_start(snakemake)
with log_to(snakemake.log[0]):
    save_resolved_config(snakemake.config, snakemake.output[0])
