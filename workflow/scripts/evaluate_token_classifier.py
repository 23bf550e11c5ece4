"""Snakemake script: predict and score every target language of one training run."""

from xlie import gpu_pool
from xlie.runtime import log_to
from xlie.steps import evaluate_vanilla

with log_to(snakemake.log[0]):
    gpu_pool.acquire()
    evaluate_vanilla(
        snakemake.config,
        snakemake.params.run,
        model_dir=snakemake.input.model,
        targets=snakemake.params.targets,
        out_dir=snakemake.output.cells,
    )
