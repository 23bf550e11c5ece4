"""Snakemake script: convert a checkpoint into a natively loaded layout (see xlie.pipeline.jobs.convert_model)."""

from xlie.pipeline.jobs import convert_model
from xlie.pipeline.runtime import log_to, script_start

script_start(snakemake)
with log_to(snakemake.log[0]):
    options = snakemake.params.options
    convert_model(options["kind"], options["source"], snakemake.output.model)
