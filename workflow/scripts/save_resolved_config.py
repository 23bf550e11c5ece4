"""Snakemake script: write the resolved config beside the results (and under its sha256 in results/configs/)."""

from xlie.pipeline.provenance import save_resolved_config
from xlie.pipeline.runtime import log_to, script_start

script_start(snakemake)
with log_to(snakemake.log[0]):
    save_resolved_config(snakemake.config, snakemake.output[0], configs_dir=snakemake.params.configs_dir)
