"""Snakemake script: ACE05-Processor output -> relation instances and their stats (see xlie.papers.prompt_xre.ace05)."""

from pathlib import Path

from xlie.papers.prompt_xre.ace05 import ingest_step
from xlie.pipeline.runtime import log_to, script_start

script_start(snakemake)
with log_to(snakemake.log[0]):
    summary = ingest_step(snakemake.params.root, Path(snakemake.output.stats).parent, snakemake.params.protocol)
    print(summary)
print(summary)  # also on the console: kept counts against the paper's, SYNTHETIC said loudly
