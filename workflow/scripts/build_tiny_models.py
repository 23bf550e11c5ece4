"""Snakemake script: build the demo's tiny models (see xlie.pipeline.tiny_models)."""

from xlie.pipeline.jobs import build_tiny_models
from xlie.pipeline.runtime import log_to, script_start

script_start(snakemake)
with log_to(snakemake.log[0]):
    build_tiny_models(
        snakemake.input.corpus, snakemake.params.options, dict(zip(snakemake.params.families, snakemake.output.models))
    )
