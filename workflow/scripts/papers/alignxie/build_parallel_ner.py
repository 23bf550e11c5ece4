"""Snakemake script: one direction of AlignXIE's ParallelNER (see xlie.papers.alignxie.data_steps)."""

from xlie.papers.alignxie.data_steps import build_parallel_ner_step
from xlie.pipeline.runtime import exit_without_teardown, log_to, script_start

script_start(snakemake)
with log_to(snakemake.log[0]):
    print(
        build_parallel_ner_step(
            snakemake.input.source,
            f"{snakemake.wildcards.src}-{snakemake.wildcards.tgt}",
            dict(snakemake.params.translator),
            snakemake.params.max_samples,
            snakemake.output.pairs,
            snakemake.output.source,
            snakemake.output.stats,
            cache_dir=snakemake.params.cache_dir,
            source_format=snakemake.params.source_format,
        )
    )
exit_without_teardown()
