"""Label sets of every task, in one place.

Order matters: it is the id order of classification heads, so never reorder a list
that trained models depend on; append instead.
"""

from __future__ import annotations

# WikiANN / PAN-X tags as XTREME writes them (IOB2).
PANX = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")

# The 17 Universal POS tags of Universal Dependencies v2.
UDPOS = (
    "ADJ",
    "ADP",
    "ADV",
    "AUX",
    "CCONJ",
    "DET",
    "INTJ",
    "NOUN",
    "NUM",
    "PART",
    "PRON",
    "PROPN",
    "PUNCT",
    "SCONJ",
    "SYM",
    "VERB",
    "X",
)

LABEL_SETS: dict[str, tuple[str, ...]] = {"panx": PANX, "udpos": UDPOS}


def label_set(task: str) -> tuple[str, ...]:
    """The ordered labels of ``task``; a KeyError names the known tasks."""
    try:
        return LABEL_SETS[task]
    except KeyError:
        raise KeyError(f"unknown task {task!r}; known tasks: {sorted(LABEL_SETS)}") from None


# What a word gets when a method produced nothing usable for it (cut off by max_length,
# unparseable generation): the "outside" class. Every such word is counted, never silent.
FALLBACK_LABEL: dict[str, str] = {"panx": "O", "udpos": "X"}
