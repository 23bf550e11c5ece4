"""Data readers. Each reader returns sentences plus an identity record for provenance."""

from xlie.data.xtreme import DataFormatError, Sentence, load_xtreme, read_xtreme_tsv

__all__ = ["DataFormatError", "Sentence", "load_xtreme", "read_xtreme_tsv"]
