"""A paper's own numbers for its tables (``src/xlie/papers/<paper>/reported.tsv``), printed beside ours."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

COLUMNS = ["paper", "table", "row", "column", "value", "source"]


@dataclass
class Reported:
    """The paper's own numbers for one table (rows as the paper prints them)."""

    values: pd.DataFrame  # columns: row, column, value, source
    compare: dict[str, str] = field(default_factory=dict)  # our row key -> reported row name
    # False: our cells are not on the paper's data (e.g. synthetic): its rows are shown for
    # orientation, with no Δ rows (ours minus the paper) and no reproduction verdict.
    paper_data: bool = True


def read_reported(path, paper: str, table: str) -> pd.DataFrame:
    """Rows of a paper's ``reported.tsv`` for one table (columns: row, column, value, source).

    Errors name the file and line."""
    path = Path(path)
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    if list(frame.columns) != COLUMNS:
        raise ValueError(f"{path}:1: header must be {' '.join(COLUMNS)}, found {' '.join(frame.columns)}")
    for i, value in enumerate(frame["value"], start=2):
        try:
            float(value)
        except ValueError:
            raise ValueError(f"{path}:{i}: value {value!r} is not a number") from None
    frame["column"] = frame["column"].str.strip().str.lower()
    dup = frame.duplicated(["paper", "table", "row", "column"], keep=False)
    if dup.any():
        line = int(dup.to_numpy().nonzero()[0][0]) + 2
        raise ValueError(f"{path}:{line}: duplicate (paper, table, row, column)")
    sel = frame[(frame["paper"] == paper) & (frame["table"] == table)]
    return sel.assign(value=sel["value"].astype(float))[["row", "column", "value", "source"]].reset_index(drop=True)


def is_copied(source: str) -> bool:
    """Whether a reported row's source says the paper copied it from other work (not its own run)."""
    return bool(re.search(r"\bcopied\b", str(source), re.IGNORECASE))
