"""Snakemake script: one LaTeX document holding every table fragment."""

from pathlib import Path

from xlie.pipeline.runtime import log_to, script_start
from xlie.report.render import write_latex_document

script_start(snakemake)
with log_to(snakemake.log[0]):
    write_latex_document([Path(p).read_text(encoding="utf-8") for p in snakemake.input], snakemake.output[0])
