"""Snakemake script: TIP instances from ParallelNER and seed pairs (see xlie.papers.alignxie.data_steps)."""

from xlie.papers.alignxie.data_steps import build_tip_step
from xlie.pipeline.runtime import log_to, script_start

script_start(snakemake)
with log_to(snakemake.log[0]):
    print(
        build_tip_step(
            list(snakemake.input.parallel),
            snakemake.input.seed[0] if snakemake.input.seed else None,
            snakemake.input.schema,
            snakemake.output.instances,
            snakemake.output.stats,
            file_schemas=dict(snakemake.params.schemas),
        )
    )
