"""Snakemake script: one paper's diagnostics table (fallback / unparsed / truncated shares)."""

from xlie.pipeline.runtime import log_to
from xlie.pipeline.jobs import render_diagnostics

with log_to(snakemake.log[0]):
    render_diagnostics(
        snakemake.config,
        list(snakemake.input),
        paper=snakemake.wildcards.paper,
        out_tex=snakemake.output.tex,
        out_html=snakemake.output.html,
    )
