"""Snakemake script: SYNTHETIC ACE05-Processor-format data (see xlie.papers.prompt_xre.ace05_synthetic)."""

from xlie.papers.prompt_xre.ace05_synthetic import write_synthetic_ace05
from xlie.pipeline.runtime import log_to, script_start

script_start(snakemake)
with log_to(snakemake.log[0]):
    root = write_synthetic_ace05(snakemake.output[0], seed=snakemake.params.seed)
    print(f"wrote SYNTHETIC ACE05-format data (seed {snakemake.params.seed}, not ACE 2005) to {root}")
