"""Snakemake script: one paper's diagnostics table (fallback / unparsed / truncated shares)."""

from xlie.pipeline.runtime import log_to, script_start
from xlie.report.jobs import render_diagnostics

script_start(snakemake)
with log_to(snakemake.log[0]):
    render_diagnostics(
        snakemake.params.paper,
        list(snakemake.input),
        paper=snakemake.wildcards.paper,
        out_tex=snakemake.output.tex,
        out_html=snakemake.output.html,
    )
