"""xlie: reproduce cross-lingual information-extraction papers as one Snakemake workflow."""

__version__ = "0.1.0"
