"""Snakemake script: build the demo's tiny models (see xlie.models.tiny)."""

from xlie.runtime import log_to
from xlie.steps import build_tiny_models

with log_to(snakemake.log[0]):
    build_tiny_models(snakemake.config, dict(zip(snakemake.params.families, snakemake.output.models)))
