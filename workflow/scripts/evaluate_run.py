"""Snakemake script: predict and score every target language of one run (see xlie.pipeline.jobs.evaluate_run)."""

from xlie.pipeline import gpu_pool
from xlie.pipeline.grid import RUN_PATH
from xlie.pipeline.jobs import evaluate_run
from xlie.pipeline.provenance import run_context
from xlie.pipeline.runtime import exit_without_teardown, log_to, script_start

script_start(snakemake)
with log_to(snakemake.log[0]):
    gpus = int(snakemake.resources.get("gpu", 0))
    gpu_pool.acquire(count=gpus)
    gpu_pool.check_required(gpus, required=snakemake.config["training"]["require_gpu"])
    config = snakemake.config  # recorded in the provenance only; options are params
    evaluate_run(
        snakemake.params.options,
        model_dir=snakemake.params.model_dir,
        out_dir=snakemake.output.cells,
        context=run_context(config),
        checkpoint_dir=f"results/checkpoints/{RUN_PATH.format(**dict(snakemake.wildcards.items()))}/eval",
        # Not a param: keeping partial predictions changes no result, so it must not re-evaluate.
        keep_checkpoints=config["training"]["keep_checkpoints"],
    )
exit_without_teardown()  # only reached when the job succeeded
