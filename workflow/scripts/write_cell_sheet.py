"""Snakemake script: write the cell sheet (xlie.pipeline.grid.build_cells) as TSV."""

from xlie.pipeline.runtime import atomic_path, log_to, script_start

script_start(snakemake)
with log_to(snakemake.log[0]):
    with atomic_path(snakemake.output[0]) as tmp:
        snakemake.params.cells.to_csv(tmp, sep="\t", index=False)
    print(f"{len(snakemake.params.cells)} cells")
