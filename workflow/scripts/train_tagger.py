"""Snakemake script: fine-tune one training run (see xlie.steps.train_run)."""

from xlie import gpu_pool
from xlie.runtime import log_to
from xlie.steps import train_run

with log_to(snakemake.log[0]):
    gpu_pool.acquire()
    train_run(
        snakemake.config,
        snakemake.params.run,
        model_path=snakemake.params.model_path,
        output_dir=snakemake.output.model,
        checkpoint_dir=snakemake.params.checkpoints,
    )
