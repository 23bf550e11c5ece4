"""Snakemake script: predict and score every target language of one run (see xlie.steps.evaluate_run)."""

from xlie import gpu_pool
from xlie.runtime import log_to
from xlie.steps import evaluate_run

with log_to(snakemake.log[0]):
    gpu_pool.acquire()
    evaluate_run(
        snakemake.config,
        snakemake.params.run,
        model_dir=snakemake.params.model_dir,
        targets=snakemake.params.targets,
        out_dir=snakemake.output.cells,
    )
