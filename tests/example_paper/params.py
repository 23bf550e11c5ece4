"""The lexicon method's options (torch-free: the workflow reads it when it builds the DAG)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LexiconParams:
    smoothing: float = 1.0  # add-k smoothing of the piece counts per label
