"""Snakemake script: WMT17-EnZh XRE construction (see xlie.papers.prompt_xre.wmt_xre)."""

from pathlib import Path

from xlie.papers.prompt_xre.wmt_xre import build_step
from xlie.pipeline.runtime import log_to, script_start

script_start(snakemake)
with log_to(snakemake.log[0]):
    summary = build_step(dict(snakemake.params.options), Path(snakemake.output.stats).parent)
    print(summary)
print(summary)
