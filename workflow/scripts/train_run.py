"""Snakemake script: fine-tune one training run (see xlie.pipeline.jobs.train_run)."""

from xlie.pipeline import gpu_pool
from xlie.pipeline.jobs import train_run
from xlie.pipeline.provenance import run_context
from xlie.pipeline.runtime import exit_without_teardown, log_to, script_start

script_start(snakemake)
with log_to(snakemake.log[0]):
    gpus = int(snakemake.resources.get("gpu", 0))
    gpu_pool.acquire(count=gpus)
    gpu_pool.check_required(gpus, required=snakemake.config["training"]["require_gpu"])
    config = snakemake.config
    train_run(
        snakemake.params.options,
        output_dir=snakemake.output.model,
        checkpoint_dir=snakemake.params.checkpoints,
        # Not a param: keeping checkpoints changes no result, so it must not retrain.
        keep_checkpoints=config["training"]["keep_checkpoints"],
        context=run_context(config),
        # Snakemake's attempt, as a resource (params cannot see it): an out-of-memory retry
        # trains with a smaller per-device batch and more accumulation.
        attempt=int(snakemake.resources.get("attempt", 1)),
        # Several GPUs for one job: data-parallel training in one torchrun worker per GPU.
        processes=max(1, gpus),
    )
exit_without_teardown()  # only reached when the job succeeded
