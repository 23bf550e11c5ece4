"""Snakemake script: one LaTeX document holding every table fragment."""

from pathlib import Path

from xlie.pipeline.runtime import log_to
from xlie.report.tables import write_latex_document

with log_to(snakemake.log[0]):
    write_latex_document([Path(p).read_text(encoding="utf-8") for p in snakemake.input], snakemake.output[0])
