"""Snakemake script: write the cell sheet (xlie.grid.build_cells) as TSV."""

from xlie.runtime import log_to

with log_to(snakemake.log[0]):
    snakemake.params.cells.to_csv(snakemake.output[0], sep="\t", index=False)
    print(f"{len(snakemake.params.cells)} cells")
