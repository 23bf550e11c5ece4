"""Snakemake script: a MultiCoNER-style CoNLL file -> code-style JSONL (see xlie.papers.alignxie.data_steps)."""

from xlie.papers.alignxie.data_steps import convert_multiconer_step
from xlie.pipeline.runtime import log_to, script_start

script_start(snakemake)
with log_to(snakemake.log[0]):
    print(
        convert_multiconer_step(
            snakemake.input.conll,
            snakemake.input.schema,
            snakemake.wildcards.lang,
            snakemake.output.records,
            snakemake.output.stats,
        )
    )
