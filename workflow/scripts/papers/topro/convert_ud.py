"""Snakemake script: one UD 2.7 language's test treebanks -> XTREME test-<lang>.tsv (see xlie.papers.topro.ud)."""

from xlie.papers.topro.ud import convert_ud_test
from xlie.pipeline.runtime import log_to, script_start

script_start(snakemake)
with log_to(snakemake.log[0]):
    written = convert_ud_test(snakemake.params.ud_dir, snakemake.wildcards.ud_lang, snakemake.output[0])
    print(f"wrote {written} sentences to {snakemake.output[0]}")
